import { describe, expect, it } from 'vitest';
import { ruleWords } from './real-node.ts';

describe('ruleWords', () => {
  it('keeps a quoted comment as one word, without its quotes', () => {
    expect(ruleWords('PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toEqual([
      'PREROUTING',
      '-m',
      'comment',
      '--comment',
      'kubernetes service portals',
      '-j',
      'KUBE-SERVICES',
    ]);
    expect(ruleWords('INPUT -j KUBE-FIREWALL')).toEqual(['INPUT', '-j', 'KUBE-FIREWALL']);
    expect(ruleWords('X --comment "say \\"hi\\"" -j Y')).toEqual(['X', '--comment', 'say "hi"', '-j', 'Y']);
  });
});
