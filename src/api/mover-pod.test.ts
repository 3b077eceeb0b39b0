import { describe, expect, it } from 'vitest';
import { parseMoverPod } from './mover-pod.ts';

describe('parseMoverPod', () => {
  it.each([
    ['{}', {}],
    ['null', {}],
    [
      '{"resources":{"requests":{"cpu":"250m","memory":1073741824}},"nodeSelector":{"a":"b"}}',
      { resources: { requests: { cpu: '250m', memory: '1073741824' } }, nodeSelector: { a: 'b' } },
    ],
    ['{"tolerations":[{"key":"k","operator":"Exists"}]}', { tolerations: [{ key: 'k', operator: 'Exists' }] }],
  ])('takes %s', (text, expected) => {
    expect(parseMoverPod(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['{', /^--mover-pod is not JSON/],
    ['{"resources":{"limits":{"memory":"lots"}}}', /^--mover-pod field resources\.limits\.memory: a quantity/],
    ['{"nodeSelektor":{}}', /^--mover-pod .*nodeSelektor/],
    ['{"tolerations":[{"effect":"Sometimes"}]}', /^--mover-pod field tolerations\.0\.effect/],
  ])('refuses %s, naming the field', (text, message) => {
    const parsed = parseMoverPod(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});
