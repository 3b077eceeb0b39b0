#!/usr/bin/env node
// Entry point of the `safehold` CLI: the only place that reads argv and env.
import packageJson from '../../package.json' with { type: 'json' };
import { buildProgram } from '../cli/index.ts';

const program = buildProgram({ version: packageJson.version });
await program.parseAsync(process.argv);
