// Where the test environment keeps things: Go-built tools in the per-machine
// cache (keyed by version, outside the repository), running state in a
// scratch directory. Versions come from testenv/scripts/versions.sh.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function readVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'testenv/scripts/versions.sh'), 'utf8');
  const out: Record<string, string> = {};
  for (const match of text.matchAll(/^([A-Z_]+)=(\S+)$/gm)) out[match[1] as string] = match[2] as string;
  return out;
}

const versionTable = readVersions();
const version = (name: string): string => {
  const value = versionTable[name];
  if (value === undefined) throw new Error(`testenv/scripts/versions.sh has no ${name}`);
  return value;
};

export const versions = {
  kubernetes: version('KUBE_VERSION'),
  etcd: version('ETCD_VERSION'),
  restic: version('RESTIC_VERSION'),
  snapshotter: version('SNAPSHOTTER_VERSION'),
  helm: version('HELM_VERSION'),
  kopia: version('KOPIA_VERSION'),
  prometheusDeb: version('PROMETHEUS_DEB_VERSION'),
  csiSpec: version('CSI_SPEC_VERSION'),
  fluxSource: version('FLUX_SOURCE_VERSION'),
  node: readFileSync(join(repoRoot, '.node-version'), 'utf8').trim(),
};

export const cacheDir = process.env.SAFEHOLD_CACHE ?? join(homedir(), '.cache', 'safehold');

export const tools = {
  etcd: join(cacheDir, `etcd-${versions.etcd}`, 'etcd'),
  /** etcd's client and offline tool, as Safehold's image has them (an etcd dump's mover runs them). */
  etcdctl: join(cacheDir, `etcdctl-${versions.etcd}`, 'etcdctl'),
  etcdutl: join(cacheDir, `etcdutl-${versions.etcd}`, 'etcdutl'),
  kubeApiserver: join(cacheDir, `kube-${versions.kubernetes}`, 'kube-apiserver'),
  kubeControllerManager: join(cacheDir, `kube-${versions.kubernetes}`, 'kube-controller-manager'),
  kubeScheduler: join(cacheDir, `kube-${versions.kubernetes}`, 'kube-scheduler'),
  restic: join(cacheDir, `restic-${versions.restic}`, 'restic'),
  snapshotCrds: join(cacheDir, `snapshot-crds-${versions.snapshotter}`),
  /** Flux source-controller's CRDs (GitRepository), from its module. */
  fluxCrds: join(cacheDir, `flux-crds-${versions.fluxSource}`),
  helm: join(cacheDir, `helm-${versions.helm}`, 'helm'),
  /** Built on first use by the engines benchmark (build-go-tools.sh kopia), never by setup. */
  kopia: join(cacheDir, `kopia-${versions.kopia}`, 'kopia'),
  promtool: join(cacheDir, `promtool-${versions.prometheusDeb}`, 'promtool'),
  chromium: '/usr/bin/chromium',
  node: process.execPath,
};

/** The running environment's directory: SAFEHOLD_TESTENV_DIR, or one per checkout under /tmp. */
export const defaultEnvDir = process.env.SAFEHOLD_TESTENV_DIR ?? join('/tmp', 'safehold-testenv');
