import { describe, expect, it } from 'vitest';
import type { HookRecord, PolicyHooks } from '../api/index.ts';
import { presetCommands } from './hook-presets.ts';
import { hookFailure, hooksBusy, nextHookStep, planHooks, type HookPod, type OtherRun } from './hooks.ts';

const pod = (name: string, overrides: Partial<HookPod> = {}): HookPod => ({
  name,
  labels: {},
  annotations: {},
  containers: ['app', 'sidecar'],
  running: true,
  ...overrides,
});

const policyHooks = (hooks: Partial<PolicyHooks>): PolicyHooks => ({ presets: [], pre: [], post: [], ...hooks });
const run = (command: string[], rest: object = {}) => ({ command, timeout: '30s', onError: 'Fail' as const, ...rest });

describe('planHooks', () => {
  it('plans every pre hook before every post hook: policy hooks that select the Pod, then its annotations', () => {
    const plan = planHooks(
      policyHooks({
        pre: [run(['checkpoint'], { podSelector: { matchLabels: { app: 'db' } } }), run(['sync'])],
        post: [run(['resume'], { container: 'sidecar', onError: 'Continue', timeout: '2m' })],
      }),
      [
        pod('db-0', {
          labels: { app: 'db' },
          annotations: {
            'pre.hook.safehold.io/command': '["sh","-c","echo hi"]',
            'pre.hook.safehold.io/on-error': 'Continue',
            'post.hook.backup.velero.io/command': 'unfreeze',
            'post.hook.backup.velero.io/container': 'sidecar',
            'post.hook.backup.velero.io/timeout': '1m',
          },
        }),
        pod('web', { running: false }),
        pod('worker'),
      ],
    );
    expect(plan).toEqual({
      hooks: [
        {
          stage: 'pre',
          source: 'policy',
          pod: 'db-0',
          container: 'app',
          command: ['checkpoint'],
          timeoutSeconds: 30,
          onError: 'Fail',
        },
        {
          stage: 'pre',
          source: 'policy',
          pod: 'db-0',
          container: 'app',
          command: ['sync'],
          timeoutSeconds: 30,
          onError: 'Fail',
        },
        {
          stage: 'pre',
          source: 'pre.hook.safehold.io',
          pod: 'db-0',
          container: 'app',
          command: ['sh', '-c', 'echo hi'],
          timeoutSeconds: 30,
          onError: 'Continue',
        },
        {
          stage: 'pre',
          source: 'policy',
          pod: 'worker',
          container: 'app',
          command: ['sync'],
          timeoutSeconds: 30,
          onError: 'Fail',
        },
        {
          stage: 'post',
          source: 'policy',
          pod: 'db-0',
          container: 'sidecar',
          command: ['resume'],
          timeoutSeconds: 120,
          onError: 'Continue',
        },
        {
          stage: 'post',
          source: 'post.hook.backup.velero.io',
          pod: 'db-0',
          container: 'sidecar',
          command: ['unfreeze'],
          timeoutSeconds: 60,
          onError: 'Fail',
        },
        {
          stage: 'post',
          source: 'policy',
          pod: 'worker',
          container: 'sidecar',
          command: ['resume'],
          timeoutSeconds: 120,
          onError: 'Continue',
        },
      ],
    });
  });

  it("prefers Safehold's annotations to Velero's on the same Pod", () => {
    const plan = planHooks(undefined, [
      pod('db', {
        annotations: { 'pre.hook.safehold.io/command': 'ours', 'pre.hook.backup.velero.io/command': 'theirs' },
      }),
    ]);
    expect('hooks' in plan && plan.hooks.map((h) => h.command)).toEqual([['ours']]);
  });

  it.each([
    [
      { 'pre.hook.safehold.io/command': '["sh",' },
      'Pod db: annotation pre.hook.safehold.io/command is not a JSON array of strings',
    ],
    [{ 'pre.hook.safehold.io/command': '[]' }, 'Pod db: annotation pre.hook.safehold.io/command: '],
    [
      { 'pre.hook.safehold.io/command': 'x', 'pre.hook.safehold.io/on-error': 'Ignore' },
      'Pod db: annotation pre.hook.safehold.io/on-error: ',
    ],
    [
      { 'post.hook.backup.velero.io/command': 'x', 'post.hook.backup.velero.io/timeout': 'soon' },
      'Pod db: annotation post.hook.backup.velero.io/timeout: ',
    ],
    [
      { 'pre.hook.safehold.io/command': 'x', 'pre.hook.safehold.io/container': 'db' },
      'Pod db: annotation pre.hook.safehold.io/container names "db", which it does not have',
    ],
  ])('names the Pod and the annotation of a hook declared wrongly: %j', (annotations, message) => {
    const plan = planHooks(undefined, [pod('db', { annotations })]);
    expect('error' in plan && plan.error).toContain(message);
  });

  it("names the Pod and container when a policy's hook names a container the Pod lacks", () => {
    const plan = planHooks(policyHooks({ post: [run(['x'], { container: 'db' })] }), [pod('web')]);
    expect(plan).toEqual({ error: `Pod web: the policy's post hook names container "db", which it does not have` });
  });

  it("wraps a Pod's other hooks in its presets' pause: their pre hooks first, their post hooks last", () => {
    const postgresql = presetCommands('postgresql');
    const plan = planHooks(
      policyHooks({
        presets: [{ preset: 'postgresql', container: 'sidecar', timeout: '45s', onError: 'Fail' }],
        pre: [run(['count rows'])],
        post: [run(['log'])],
      }),
      [pod('db-0', { annotations: { 'hooks.safehold.io/preset': 'postgresql' } })],
    );
    if (!('hooks' in plan)) throw new Error(plan.error);
    expect(plan.hooks.map((h) => [h.stage, h.source, h.container, h.preset, h.timeoutSeconds])).toEqual([
      ['pre', 'policy', 'sidecar', 'postgresql', 45],
      ['pre', 'hooks.safehold.io', 'app', 'postgresql', 60],
      ['pre', 'policy', 'app', undefined, 30],
      ['post', 'policy', 'app', undefined, 30],
      ['post', 'policy', 'sidecar', 'postgresql', 45],
      ['post', 'hooks.safehold.io', 'app', 'postgresql', 60],
    ]);
    expect(plan.hooks[0]?.command).toEqual(postgresql.pre);
    expect(plan.hooks.at(-1)?.command).toEqual(postgresql.post);
  });

  it('names the Pod, the annotation and the presets there are when a preset is unknown or its container missing', () => {
    expect(planHooks(undefined, [pod('db-0', { annotations: { 'hooks.safehold.io/preset': 'oracle' } })])).toEqual({
      error: 'Pod db-0: annotation hooks.safehold.io/preset names "oracle"; the presets are postgresql, mysql',
    });
    const noContainer = pod('db-0', {
      annotations: { 'hooks.safehold.io/preset': 'postgresql', 'hooks.safehold.io/preset-container': 'db' },
    });
    expect(planHooks(undefined, [noContainer])).toEqual({
      error: 'Pod db-0: annotation hooks.safehold.io/preset-container names "db", which it does not have',
    });
    const policy = policyHooks({
      presets: [{ preset: 'postgresql', container: 'db', timeout: '60s', onError: 'Fail' }],
    });
    expect(planHooks(policy, [pod('web')])).toEqual({
      error: `Pod web: the policy's postgresql preset names container "db", which it does not have`,
    });
  });
});

const record = (stage: 'pre' | 'post', podName: string, rest: Partial<HookRecord> = {}): HookRecord => ({
  stage,
  source: 'policy',
  pod: podName,
  container: 'app',
  command: [stage],
  timeoutSeconds: 30,
  onError: 'Fail',
  ...rest,
});
const done = { startTime: 't', outcome: 'Succeeded' as const, exitCode: 0 };

describe('hookFailure', () => {
  it('names a preset by its name, not by its script', () => {
    const failed = record('pre', 'db-0', {
      preset: 'postgresql',
      outcome: 'TimedOut',
      message: 'timed out after 60 s',
    });
    expect(hookFailure(failed)).toBe(
      'pre hook in Pod db-0, container app (the postgresql preset): timed out after 60 s',
    );
    expect(hookFailure(record('pre', 'db-0', { outcome: 'Failed', exitCode: 2 }))).toBe(
      'pre hook in Pod db-0, container app (pre): exited 2',
    );
  });
});

describe('nextHookStep', () => {
  it.each<[string, HookRecord[], boolean, ReturnType<typeof nextHookStep>]>([
    ['no hooks', [], false, undefined],
    [
      'the first pre hook, before the capture',
      [record('pre', 'a'), record('post', 'a')],
      false,
      { kind: 'run-hook', index: 0 },
    ],
    [
      'nothing while capturing once pre hooks are done',
      [record('pre', 'a', done), record('post', 'a')],
      false,
      undefined,
    ],
    [
      'the post hook once captured',
      [record('pre', 'a', done), record('post', 'a')],
      true,
      { kind: 'run-hook', index: 1 },
    ],
    ['nothing once all ran', [record('pre', 'a', done), record('post', 'a', done)], true, undefined],
    [
      'a failed pre hook skips the pre hooks left',
      [record('pre', 'a', { ...done, outcome: 'Failed', exitCode: 1 }), record('pre', 'b'), record('post', 'a')],
      false,
      { kind: 'record-hook', index: 1, outcome: 'Skipped', message: 'an earlier pre hook failed' },
    ],
    [
      'then runs the post hook of the Pod whose pre hook ran',
      [
        record('pre', 'a', { ...done, outcome: 'Failed', exitCode: 1 }),
        record('pre', 'b', { outcome: 'Skipped' }),
        record('post', 'a'),
        record('post', 'b'),
      ],
      false,
      { kind: 'run-hook', index: 2 },
    ],
    [
      'and skips that of a Pod whose pre hooks were all skipped',
      [
        record('pre', 'a', { ...done, outcome: 'Failed', exitCode: 1 }),
        record('pre', 'b', { outcome: 'Skipped' }),
        record('post', 'a', done),
        record('post', 'b'),
      ],
      false,
      { kind: 'record-hook', index: 3, outcome: 'Skipped', message: 'no pre hook ran in its Pod' },
    ],
    [
      'then fails the attempt, naming the hook',
      [record('pre', 'a', { ...done, outcome: 'Failed', exitCode: 3 }), record('post', 'a', done)],
      false,
      { kind: 'hooks-failed', message: 'pre hook in Pod a, container app (pre): exited 3' },
    ],
    [
      'a pre hook that may fail does not stop the run',
      [record('pre', 'a', { ...done, outcome: 'TimedOut', onError: 'Continue' }), record('post', 'a')],
      false,
      undefined,
    ],
    [
      'a hook started and never recorded is Unknown, not run again',
      [record('pre', 'a', { startTime: 't' })],
      false,
      {
        kind: 'record-hook',
        index: 0,
        outcome: 'Unknown',
        message: 'the operator restarted while it ran; it was not run again',
      },
    ],
    ['a post hook runs for a Pod without pre hooks', [record('post', 'a')], true, { kind: 'run-hook', index: 0 }],
  ])('%s', (_name, records, captured, expected) => {
    expect(nextHookStep(records, captured)).toEqual(expected);
  });
});

describe('hooksBusy', () => {
  const plan = [record('pre', 'db-0'), record('post', 'db-0')];
  const other = (rest: Partial<OtherRun>): OtherRun => ({
    name: 'logs-1',
    pvc: 'logs',
    hooks: undefined,
    started: true,
    mountedBy: ['db-0'],
    ...rest,
  });
  const busy = 'Pod db-0 also mounts PVC logs, whose backup logs-1 is running its hooks';

  it.each<[string, OtherRun, string | undefined]>([
    ['a run of a volume another Pod mounts', other({ mountedBy: ['web'], started: false }), undefined],
    ['a started run that planned no hooks', other({}), undefined],
    ['a run just admitted, its plan not visible yet', other({ started: false }), busy],
    [
      "a run in the middle of the same Pod's hooks",
      other({ hooks: [record('pre', 'db-0', done), record('post', 'db-0')] }),
      busy,
    ],
    [
      'a run whose hooks of that Pod are all done',
      other({ hooks: [record('pre', 'db-0', done), record('post', 'db-0', done)] }),
      undefined,
    ],
    [
      "a run busy with another Pod's hooks",
      other({ mountedBy: ['db-0', 'web'], hooks: [record('pre', 'web')] }),
      undefined,
    ],
  ])('%s', (_name, run, expected) => {
    expect(hooksBusy(plan, [run])).toBe(expected);
  });
});
