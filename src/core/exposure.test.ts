import { describe, expect, it } from 'vitest';
import { nextExposeStep, type ExposureObservation } from './exposure.ts';

const none: ExposureObservation = { snapshot: undefined, clone: undefined, alias: undefined };
const ready = { ready: true, error: undefined };

describe('nextExposeStep', () => {
  it('walks snapshot, clone and alias in order through a snapshot', () => {
    expect(nextExposeStep('snapshot', none)).toEqual({ kind: 'create-snapshot' });
    expect(nextExposeStep('snapshot', { ...none, snapshot: { ready: false, error: undefined } })).toEqual({
      kind: 'wait-exposure',
      waitingFor: 'snapshot',
      recheckMs: 2000,
    });
    expect(nextExposeStep('snapshot', { ...none, snapshot: ready })).toEqual({ kind: 'create-clone' });
    expect(nextExposeStep('snapshot', { ...none, snapshot: ready, clone: { bound: false } })).toMatchObject({
      kind: 'wait-exposure',
      waitingFor: 'clone',
    });
    expect(nextExposeStep('snapshot', { ...none, snapshot: ready, clone: { bound: true } })).toEqual({
      kind: 'create-alias',
    });
    expect(nextExposeStep('snapshot', { snapshot: ready, clone: { bound: true }, alias: { bound: true } })).toEqual({
      kind: 'exposed',
    });
  });

  it('reports a failed snapshot instead of waiting for it', () => {
    expect(nextExposeStep('snapshot', { ...none, snapshot: { ready: false, error: 'no space' } })).toEqual({
      kind: 'snapshot-failed',
      message: 'no space',
    });
  });

  it('aliases the volume itself without a snapshot', () => {
    expect(nextExposeStep('volume', none)).toEqual({ kind: 'create-alias' });
    expect(nextExposeStep('volume', { ...none, alias: { bound: false } })).toMatchObject({
      kind: 'wait-exposure',
      waitingFor: 'alias',
    });
    expect(nextExposeStep('volume', { ...none, alias: { bound: true } })).toEqual({ kind: 'exposed' });
  });

  it('nudges an alias whose PV is bound but whose claim is not yet', () => {
    expect(nextExposeStep('volume', { ...none, alias: { bound: false, volumeBound: true } })).toEqual({
      kind: 'nudge-alias',
    });
  });
});
