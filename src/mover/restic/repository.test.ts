// Getting a repository ready when an earlier init was cut short: restic's
// answers stood in by a function, the bucket by a map of keys.
import { describe, expect, it } from 'vitest';
import type { RepositoryObjects } from './repository-objects.ts';
import { prepareRepository } from './repository.ts';
import type { ResticExit } from './process.ts';

const url = 's3:http://127.0.0.1:7480/backups/tenants/a';
const missing: ResticExit = {
  exitCode: 10,
  messages: ['Fatal: repository does not exist: unable to open config file'],
  stopped: undefined,
};
const hasKeys: ResticExit = {
  exitCode: 1,
  messages: [`Fatal: create repository at ${url} failed: repository already contains keys`],
  stopped: undefined,
};
const ok: ResticExit = { exitCode: 0, messages: [], stopped: undefined };

/** A repository of these object keys (relative to it) where restic init refuses while any key is left. */
function repository(keys: string[], objects = true) {
  const stored = new Set(keys);
  const calls: string[] = [];
  const bucket: RepositoryObjects = {
    list: (folder, limit) => Promise.resolve([...stored].filter((k) => k.startsWith(`${folder}/`)).slice(0, limit)),
    remove: (key) => {
      stored.delete(key);
      return Promise.resolve();
    },
  };
  const warnings: string[] = [];
  const steps = {
    restic: (args: readonly string[]) => {
      const command = args.filter((a) => !a.startsWith('-')).join(' ');
      calls.push(command);
      if (command === 'cat config') return Promise.resolve(stored.has('config') ? ok : missing);
      if (command === 'init') {
        if ([...stored].some((k) => k.startsWith('keys/'))) return Promise.resolve(hasKeys);
        stored.add('config');
        return Promise.resolve(ok);
      }
      return Promise.resolve(ok);
    },
    probe: () => Promise.resolve({ reachable: true as const }),
    openTimeoutMs: 1000,
    objects: objects ? bucket : undefined,
    log: () => undefined,
    warn: (text: string) => warnings.push(text),
  };
  return { steps, stored, calls, warnings };
}

const target = { engine: 'restic' as const, url, initialize: true };

describe('prepareRepository after an interrupted init', () => {
  it('clears the keys of a repository that holds nothing else, and creates it again', async () => {
    const repo = repository(['keys/5f3e']);
    expect(await prepareRepository(target, repo.steps)).toBeUndefined();
    expect([...repo.stored]).toEqual(['config']);
    expect(repo.calls).toEqual(['cat config', 'init', 'init', 'unlock']);
    expect(repo.warnings.join()).toContain('removed 1 key(s) an interrupted restic init left');
  });

  it.each(['snapshots/1a2b', 'data/00/00aa', 'index/77ee'])(
    'leaves a repository that holds %s as it is, and says how to fix it',
    async (object) => {
      const repo = repository(['keys/5f3e', object]);
      const error = await prepareRepository(target, repo.steps);
      expect(error).toMatchObject({ type: 'error', code: 'RepositoryIncomplete' });
      expect(error?.message).toContain(`it holds ${object.split('/')[0] ?? ''}/`);
      expect(error?.message).toContain("restore its config object from the bucket's object versions");
      expect(repo.stored.has('keys/5f3e')).toBe(true);
    },
  );

  it('gives the exact fix when it cannot reach the objects itself', async () => {
    const repo = repository(['keys/5f3e'], false);
    const error = await prepareRepository(target, repo.steps);
    expect(error?.code).toBe('RepositoryIncomplete');
    expect(error?.message).toContain('aws s3 rm --recursive s3://backups/tenants/a/keys/');
  });
});
