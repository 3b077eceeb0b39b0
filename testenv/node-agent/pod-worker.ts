// One Pod on the test node, from volumes to final status, as the kubelet runs
// it: volumes prepared, init containers in order, then the containers, each a
// local process in its own mount namespace (sandbox.sh); exit codes and
// termination messages written to the Pod's status; restartPolicy honoured;
// deletion stops the processes (SIGTERM, then SIGKILL after the grace period).
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isNotFound, kinds, type KubeClient } from '../../src/kube/index.ts';
import { cacheDir, repoRoot } from '../paths.ts';
import type { VolumeBackend } from '../storage/backend.ts';
import { commandLine, isSafeholdImage, processIdentity, resolveEnv } from './container-spec.ts';
import { NotReadyYet, preparePodVolumes, Unsupported, type PodVolumes } from './volumes.ts';

const sandboxScript = fileURLToPath(new URL('./sandbox.sh', import.meta.url));
const maxMessageBytes = 4096;
// A new top-level folder lands in the container's own root, not on the host.
const imageBinDir = '/safehold/bin';
const imagePaths = [repoRoot, cacheDir];

export interface AgentDeps {
  client: KubeClient;
  backends: Map<string, VolumeBackend>;
  envDir: string;
  /** Folder put first on every container's PATH: `safehold`, `restic`, `node`. */
  binDir: string;
  apiserverPort: number;
  log: (line: string) => void;
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** A Pod's scratch folder: emptyDir volumes, container roots, and each container's output. */
export function podDir(envDir: string, uid: string): string {
  return join(envDir, 'pods', uid);
}

/** The file a container's stdout and stderr go to, across its restarts. */
export function containerLogPath(dir: string, container: string): string {
  return join(dir, `${container}.log`);
}

export class PodWorker {
  readonly #deps: AgentDeps;
  #pod: Pod;
  readonly #dir: string;
  #phase: Phase = 'Pending';
  #reason: string | undefined;
  #message: string | undefined;
  #startTime = new Date().toISOString();
  #initialized = false;
  readonly #statuses = new Map<string, ContainerStatus>();
  readonly #initStatuses = new Map<string, ContainerStatus>();
  readonly #processes = new Map<string, ChildProcess>();
  #volumes: PodVolumes | undefined;
  #stopping = false;
  #writes: Promise<void> = Promise.resolve();
  #done: Promise<void> | undefined;

  constructor(deps: AgentDeps, pod: Pod) {
    this.#deps = deps;
    this.#pod = pod;
    this.#dir = podDir(deps.envDir, pod.metadata?.uid ?? 'unknown');
  }

  get name(): string {
    return `${this.#pod.metadata?.namespace ?? ''}/${this.#pod.metadata?.name ?? ''}`;
  }

  update(pod: Pod): void {
    this.#pod = pod;
  }

  start(): void {
    this.#done ??= this.#run().catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.#deps.log(`${this.name}: ${message}`);
      this.#finish('Failed', error instanceof Unsupported ? 'Unsupported' : 'NodeAgentError', message);
    });
  }

  /** Stops every process, releases volumes, and removes the Pod object for good. */
  async terminate(graceSeconds: number): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#processes.values()].map((child) => stopProcess(child, graceSeconds)));
    await this.#done;
    await this.#writes;
    await this.#cleanup();
    try {
      await this.#deps.client.delete(
        kinds.pod,
        { namespace: this.#pod.metadata?.namespace ?? '', name: this.#pod.metadata?.name ?? '' },
        {
          gracePeriodSeconds: 0,
          ...(this.#pod.metadata?.uid === undefined ? {} : { preconditionsUid: this.#pod.metadata.uid }),
        },
      );
    } catch (error) {
      if (!isNotFound(error) && !(error instanceof Error && error.message.includes('Precondition'))) throw error;
    }
  }

  async #run(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true });
    const spec = this.#pod.spec;
    const all = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
    for (const c of spec?.initContainers ?? []) this.#initStatuses.set(c.name, waiting(c, 'PodInitializing'));
    for (const c of spec?.containers ?? []) this.#statuses.set(c.name, waiting(c, 'ContainerCreating'));
    const badImage = all.find((c) => !isSafeholdImage(c.image));
    if (badImage !== undefined) {
      const message = `image "${badImage.image ?? ''}" of container "${badImage.name}" is not on the test node: it runs only the image "safehold" (this checkout's CLI)`;
      for (const c of all) this.#setTerminated(c, 128, 'ErrImagePull', message);
      return this.#finish('Failed', 'ErrImagePull', message);
    }
    this.#volumes = await this.#retryUntilReady(() => preparePodVolumes(this.#deps, this.#pod, this.#dir));
    if (this.#volumes === undefined) return;

    for (const container of spec?.initContainers ?? []) {
      const code = await this.#runWithRestarts(container, true);
      if (code !== 0)
        return this.#finish(
          'Failed',
          'InitContainerFailed',
          `init container "${container.name}" exited with ${code ?? 'a signal'}`,
        );
    }
    this.#initialized = true;
    const codes = await Promise.all((spec?.containers ?? []).map((c) => this.#runWithRestarts(c, false)));
    if (this.#stopping) return;
    this.#finish(codes.every((code) => code === 0) ? 'Succeeded' : 'Failed');
  }

  /** Runs a container until restartPolicy says it is done; returns its last exit code. */
  async #runWithRestarts(container: Container, init: boolean): Promise<number | null> {
    const policy = this.#pod.spec?.restartPolicy ?? 'Always';
    let restarts = 0;
    let backoff = 1000;
    for (;;) {
      const code = await this.#runOnce(container, init, restarts);
      if (this.#stopping || code === undefined) return code ?? null;
      const again =
        policy === 'Always' || (policy === 'OnFailure' && code !== 0) || (init && policy !== 'Never' && code !== 0);
      if (!again) return code;
      restarts++;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  async #runOnce(container: Container, init: boolean, restarts: number): Promise<number | null | undefined> {
    const env = await this.#retryUntilReady(() => resolveEnv(this.#deps.client, this.#pod, container), container);
    if (env === undefined) return undefined;
    const identity = processIdentity(this.#pod, container);
    const logPath = containerLogPath(this.#dir, container.name);
    const terminationPath = join(this.#dir, `${container.name}.termination-log`);
    writeFileSync(terminationPath, '');
    const specPath = join(this.#dir, `${container.name}.spec`);
    writeFileSync(specPath, this.#sandboxSpec(container, identity, terminationPath).join('\n') + '\n');
    const processEnv = {
      PATH: `${imageBinDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: '/root',
      HOSTNAME: this.#pod.metadata?.name ?? '',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.#deps.apiserverPort),
      ...Object.fromEntries(env),
    };
    const out = openSync(logPath, 'a');
    const startedAt = new Date().toISOString();
    const child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', 'bash', sandboxScript, specPath, '--', ...commandLine(container, env)],
      {
        env: processEnv,
        stdio: ['ignore', out, out],
        detached: true,
      },
    );
    closeSync(out);
    this.#processes.set(container.name, child);
    const statuses = init ? this.#initStatuses : this.#statuses;
    statuses.set(container.name, {
      ...base(container, this.#pod),
      restartCount: restarts,
      ready: !init,
      started: true,
      state: { running: { startedAt } },
    });
    if (!init) this.#phase = 'Running';
    this.#writeStatus();
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (exitCode, signal) =>
        resolve(exitCode ?? (signal === null ? null : 128 + signalNumber(signal))),
      );
      child.on('error', () => resolve(127));
    });
    this.#processes.delete(container.name);
    const message = terminationMessage(container, terminationPath, logPath, code);
    statuses.set(container.name, {
      ...base(container, this.#pod),
      restartCount: restarts,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode: code ?? 137,
          reason: code === 0 ? 'Completed' : 'Error',
          ...(message === '' ? {} : { message }),
          startedAt,
          finishedAt: new Date().toISOString(),
          containerID: containerId(container, this.#pod),
        },
      },
    });
    this.#writeStatus();
    return code;
  }

  #sandboxSpec(container: Container, identity: ReturnType<typeof processIdentity>, terminationPath: string): string[] {
    const lines = [`root\t${join(this.#dir, `${container.name}.root`)}`, `workdir\t${container.workingDir ?? '/'}`];
    if (identity.uid !== undefined) lines.push(`user\t${identity.uid}\t${identity.gid ?? identity.uid}`);
    if (identity.capabilities !== undefined) lines.push(`caps\t${identity.capabilities.join(',')}`);
    if (identity.noNewPrivileges) lines.push('nnp');
    if (identity.readOnlyRoot) lines.push('readonly-root');
    for (const mount of container.volumeMounts ?? []) {
      const volume = this.#volumes?.byName.get(mount.name);
      if (volume === undefined || volume.kind !== 'directory')
        throw new Unsupported(`volumeMount "${mount.name}" names no filesystem volume of the Pod`);
      const source =
        mount.subPath === undefined || mount.subPath === '' ? volume.path : join(volume.path, mount.subPath);
      if (mount.subPath !== undefined && mount.subPath !== '') mkdirSync(source, { recursive: true });
      lines.push(`bind\t${source}\t${mount.mountPath}\t${mount.readOnly === true || volume.readOnly ? 'ro' : 'rw'}`);
    }
    for (const device of container.volumeDevices ?? []) {
      const volume = this.#volumes?.byName.get(device.name);
      if (volume === undefined || volume.kind !== 'device')
        throw new Unsupported(`volumeDevice "${device.name}" names no block volume of the Pod`);
      lines.push(`device\t${volume.path}\t${device.devicePath}\trw`);
    }
    lines.push(`file\t${terminationPath}\t${container.terminationMessagePath ?? '/dev/termination-log'}\trw`);
    // The image's programs: `safehold`, `restic`, `node`, and what they point into (which may
    // lie under /tmp, which every container gets fresh).
    lines.push(`bind\t${this.#deps.binDir}\t${imageBinDir}\tro`);
    for (const path of imagePaths) lines.push(`bind\t${path}\t${path}\tro`);
    return lines;
  }

  /** Retries fn while it throws NotReadyYet, showing the reason on the Pod; undefined if the Pod failed or stopped. */
  async #retryUntilReady<T>(fn: () => Promise<T>, container?: Container): Promise<T | undefined> {
    for (;;) {
      if (this.#stopping) return undefined;
      try {
        return await fn();
      } catch (error) {
        if (error instanceof NotReadyYet) {
          for (const c of container === undefined ? (this.#pod.spec?.containers ?? []) : [container]) {
            const statuses = this.#initStatuses.has(c.name) && !this.#initialized ? this.#initStatuses : this.#statuses;
            statuses.set(c.name, waiting(c, error.reason, error.message));
          }
          this.#writeStatus();
          await sleep(1000);
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        this.#finish('Failed', error instanceof Unsupported ? 'Unsupported' : 'NodeAgentError', message);
        return undefined;
      }
    }
  }

  #setTerminated(container: Container, exitCode: number, reason: string, message: string): void {
    const now = new Date().toISOString();
    const statuses = (this.#pod.spec?.initContainers ?? []).some((c) => c.name === container.name)
      ? this.#initStatuses
      : this.#statuses;
    statuses.set(container.name, {
      ...base(container, this.#pod),
      restartCount: 0,
      ready: false,
      state: { terminated: { exitCode, reason, message, startedAt: now, finishedAt: now } },
    });
  }

  #finish(phase: Phase, reason?: string, message?: string): void {
    this.#phase = phase;
    this.#reason = reason;
    this.#message = message;
    this.#writeStatus();
    void this.#writes.then(() => this.#cleanup());
  }

  async #cleanup(): Promise<void> {
    const volumes = this.#volumes;
    this.#volumes = undefined;
    await volumes?.release();
  }

  /** Removes the Pod's scratch folder (volumes of emptyDir, logs); called once the Pod object is gone. */
  forget(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #writeStatus(): void {
    const status = this.#status();
    const ref = { namespace: this.#pod.metadata?.namespace ?? '', name: this.#pod.metadata?.name ?? '' };
    this.#writes = this.#writes
      .then(() => this.#deps.client.mergePatch(kinds.pod, ref, { status }, 'status'))
      .then(
        () => undefined,
        (error: unknown) => {
          if (!isNotFound(error))
            this.#deps.log(
              `${this.name}: status write failed: ${error instanceof Error ? error.message : String(error)}`,
            );
        },
      );
  }

  #status(): PodStatus {
    const now = new Date().toISOString();
    const containers = [...this.#statuses.values()];
    const ready = this.#phase === 'Running' && containers.every((c) => c.ready);
    const terminal = this.#phase === 'Succeeded' || this.#phase === 'Failed';
    const ours: PodCondition[] = [
      {
        type: 'PodReadyToStartContainers',
        status: this.#volumes !== undefined || terminal ? 'True' : 'False',
        lastTransitionTime: now,
      },
      {
        type: 'Initialized',
        status: this.#initialized || (this.#pod.spec?.initContainers ?? []).length === 0 ? 'True' : 'False',
        lastTransitionTime: now,
      },
      {
        type: 'ContainersReady',
        status: ready ? 'True' : 'False',
        lastTransitionTime: now,
        ...(ready ? {} : { reason: terminal ? 'PodCompleted' : 'ContainersNotReady' }),
      },
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        lastTransitionTime: now,
        ...(ready ? {} : { reason: terminal ? 'PodCompleted' : 'ContainersNotReady' }),
      },
    ];
    const kept = (this.#pod.status?.conditions ?? []).filter((c) => !ours.some((o) => o.type === c.type));
    const conditions = [...kept, ...ours.map((o) => keepTransitionTime(o, this.#pod.status?.conditions ?? []))];
    return {
      phase: this.#phase,
      ...(this.#reason === undefined ? {} : { reason: this.#reason }),
      ...(this.#message === undefined ? {} : { message: this.#message }),
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: this.#startTime,
      conditions,
      ...(this.#initStatuses.size === 0 ? {} : { initContainerStatuses: [...this.#initStatuses.values()] }),
      containerStatuses: containers,
    };
  }
}

function keepTransitionTime(condition: PodCondition, previous: readonly PodCondition[]): PodCondition {
  const old = previous.find((p) => p.type === condition.type);
  return old?.status === condition.status && old.lastTransitionTime !== undefined
    ? { ...condition, lastTransitionTime: old.lastTransitionTime }
    : condition;
}

function base(container: Container, pod: Pod): Pick<ContainerStatus, 'name' | 'image' | 'imageID' | 'containerID'> {
  return {
    name: container.name,
    image: container.image ?? '',
    imageID: `safehold-test://${container.image ?? ''}`,
    containerID: containerId(container, pod),
  };
}

function containerId(container: Container, pod: Pod): string {
  return `safehold-test://${pod.metadata?.uid ?? ''}/${container.name}`;
}

function waiting(container: Container, reason: string, message?: string): ContainerStatus {
  return {
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state: { waiting: { reason, ...(message === undefined ? {} : { message }) } },
  };
}

function terminationMessage(
  container: Container,
  terminationPath: string,
  logPath: string,
  code: number | null,
): string {
  let message = readTail(terminationPath, maxMessageBytes);
  if (message === '' && code !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
    message = readTail(logPath, 2048).split('\n').slice(-80).join('\n');
  }
  return message;
}

function readTail(path: string, bytes: number): string {
  try {
    const data = readFileSync(path);
    return data.subarray(Math.max(0, data.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

async function stopProcess(child: ChildProcess, graceSeconds: number): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceSeconds * 1000);
  await exited;
  clearTimeout(timer);
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGSEGV: 11,
    SIGABRT: 6,
  };
  return numbers[signal] ?? 9;
}
