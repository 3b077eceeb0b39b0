import { describe, expect, it } from 'vitest';
import { matchesSelector, type Selector } from './label-selector.ts';

describe('matchesSelector', () => {
  const labels = { app: 'db', tier: 'data' };
  it.each<[string, Selector, boolean]>([
    ['empty selector', {}, true],
    ['matchLabels equal', { matchLabels: { app: 'db' } }, true],
    ['matchLabels differ', { matchLabels: { app: 'web' } }, false],
    ['In', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] }, true],
    ['In, key absent', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn, key absent', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['NotIn, value listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    ['unknown operator', { matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }] }, false],
    [
      'labels and expressions together',
      { matchLabels: { tier: 'data' }, matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      true,
    ],
  ])('%s', (_name, selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });
});
