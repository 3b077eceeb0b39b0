// The -o/--output option of every command that prints records: one list of
// formats, refused with the allowed ones when unknown, and one way to print
// records for programs (JSON, YAML) beside the command's own table.
import { Option } from 'commander';
import { stringify } from 'yaml';

export const outputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** The option, table by default; an unknown format is an error naming the allowed ones. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'how to print').choices(outputFormats).default('table');
}

/** Records as JSON or YAML; undefined for a table, which the command renders itself. */
export function forPrograms(format: OutputFormat, records: unknown): string | undefined {
  switch (format) {
    case 'json':
      return `${JSON.stringify(records, null, 2)}\n`;
    case 'yaml':
      return stringify(records);
    case 'table':
      return undefined;
  }
}
