#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `safehold` CLI: the only place that reads argv and env.
// The small young generation (see the line above, and ADR 0006) keeps the
// operator's resident memory near its live data instead of twice that.
import { readFileSync } from 'node:fs';
import { buildProgram } from '../cli/index.ts';
import { connect } from './connect.ts';
import { addMoverCommand } from './mover-command.ts';
import { addOperatorCommand } from './operator-command.ts';

// Two folders up from src/bin and from dist/bin alike.
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const program = buildProgram({
  version: packageJson.version,
  connect,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  writeOut: (chunk) =>
    new Promise<void>((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()))),
  now: () => new Date(),
  color: process.stdout.isTTY && process.env.NO_COLOR === undefined,
  setExitCode: (code) => {
    process.exitCode = code;
  },
});
addOperatorCommand(program);
addMoverCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
