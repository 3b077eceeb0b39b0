import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
const cli = (args: string[]) =>
  execFileSync(process.execPath, [new URL('../bin/safehold.ts', import.meta.url).pathname, ...args], {
    encoding: 'utf8',
  });

describe('safehold CLI', () => {
  it('prints the package version', () => {
    expect(cli(['--version']).trim()).toBe(packageJson.version);
  });

  it('explains itself in --help', () => {
    const help = cli(['--help']);
    expect(help).toContain('Usage: safehold');
    expect(help).toContain('backs up the data in Kubernetes persistent volumes');
  });

  it('runs as the package bin, built to dist (npm test builds before it tests)', () => {
    const bin = new URL(`../../${packageJson.bin.safehold}`, import.meta.url).pathname;
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(packageJson.version);
  });
});
