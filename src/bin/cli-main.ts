// The `safehold` CLI as a whole: the user's commands, the operator and the
// mover's, behind one commander program.
import { readFileSync } from 'node:fs';
import { buildProgram } from '../cli/index.ts';
import { connect } from './connect.ts';
import { addMoverCommand } from './mover-command.ts';
import { addOperatorCommand } from './operator-command.ts';

export async function cliMain(argv: readonly string[]): Promise<void> {
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
      new Promise<void>((resolve, reject) =>
        process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())),
      ),
    now: () => new Date(),
    color: process.stdout.isTTY && process.env.NO_COLOR === undefined,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  });
  addOperatorCommand(program);
  addMoverCommand(program);
  await program.parseAsync(argv);
}
