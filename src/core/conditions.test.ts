import { describe, expect, it } from 'vitest';
import { setCondition } from './conditions.ts';

describe('setCondition', () => {
  const ready = { type: 'Ready', status: 'True' as const, reason: 'Valid', lastTransitionTime: 't1' };
  it('keeps the transition time while the status stays', () => {
    expect(setCondition([ready], { type: 'Ready', status: 'True', reason: 'Valid', message: 'new' }, 't2')).toEqual([
      { ...ready, message: 'new' },
    ]);
  });
  it('moves it when the status changes, and leaves other types alone', () => {
    const other = { type: 'CleanedUp', status: 'True' as const, reason: 'Done', lastTransitionTime: 't0' };
    expect(setCondition([other, ready], { type: 'Ready', status: 'False', reason: 'InvalidSchedule' }, 't2')).toEqual([
      other,
      { type: 'Ready', status: 'False', reason: 'InvalidSchedule', lastTransitionTime: 't2' },
    ]);
  });
});
