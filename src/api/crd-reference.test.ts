import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { customResourceDefinition } from './crd.ts';
import { constraints, crdReference, typeOf } from './crd-reference.ts';

// A small kind with what the real ones have: nested objects, a list of
// objects, enums, defaults, bounds, a map, a CEL rule on a field and one on
// the spec.
const widget = customResourceDefinition({
  kind: 'Widget',
  plural: 'widgets',
  singular: 'widget',
  scope: 'Namespaced',
  shortNames: ['wd'],
  spec: z
    .object({
      size: z.int().min(1).max(10).default(3).describe('How big.'),
      color: z.enum(['red', 'green']).optional(),
      owner: z
        .object({
          name: z.string().min(1).describe('Who owns it.'),
          contact: z.object({ email: z.string().max(64) }).optional(),
        })
        .describe('The owner.'),
      parts: z
        .array(z.object({ id: z.string(), kind: z.enum(['bolt', 'nut']).default('bolt') }))
        .optional()
        .describe('What it is made of.'),
      labels: z.record(z.string(), z.string()).optional(),
      tags: z.array(z.string().min(2)).optional(),
      code: z
        .string()
        .regex(/^(a|b)$/)
        .optional(),
      when: z
        .string()
        .refine((v) => v.startsWith('@'))
        .meta({ 'x-kubernetes-validations': [{ rule: 'self.startsWith("@")', message: 'must start with @' }] })
        .optional(),
    })
    .meta({
      'x-kubernetes-validations': [{ rule: 'self.size > 0 || has(self.color)', message: 'give a size or a color' }],
    }),
  status: z.object({ ready: z.boolean().optional() }),
  printerColumns: [
    { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner.name', priority: 1 },
  ],
});

const page = crdReference([widget]);
const lines = page.split('\n');
const rowOf = (path: string) => {
  const line = lines.find((l) => l.startsWith(`| \`${path}\` |`));
  if (line === undefined) throw new Error(`no row for ${path}`);
  return line
    .slice(2, -2)
    .split(' | ')
    .map((cell) => cell.trim());
};
const sectionAt = (heading: string) => lines.indexOf(heading);

describe('crdReference', () => {
  it('names the kind, its group and version, scope, short names and printer columns', () => {
    expect(page).toContain('## Widget');
    expect(page).toContain('- API version: `safehold.io/v1alpha1`');
    expect(page).toContain('- Scope: namespaced');
    expect(page).toContain('`wd` (short)');
    expect(page).toContain('| Size | `.spec.size` | integer | always |');
    expect(page).toContain('| Owner | `.spec.owner.name` | string | with `-o wide` |');
  });

  it('has one table per object level, depth first, with full field paths', () => {
    const headings = lines.filter((l) => l.startsWith('### '));
    expect(headings).toEqual([
      '### `spec`',
      '### `spec.owner`',
      '### `spec.owner.contact`',
      '### `spec.parts[]`',
      '### `status`',
    ]);
    expect(rowOf('spec.owner.contact.email')).toEqual([
      '`spec.owner.contact.email`',
      'string',
      'yes',
      '',
      '',
      'length at most 64',
    ]);
  });

  it('gives type, required, default, description and constraints of each field', () => {
    expect(rowOf('spec.size')).toEqual(['`spec.size`', 'integer', '', '`3`', 'How big.', 'value 1 to 10']);
    expect(rowOf('spec.color')).toEqual(['`spec.color`', 'string', '', '', '', 'one of `red`, `green`']);
    expect(rowOf('spec.owner')).toEqual(['`spec.owner`', 'object', 'yes', '', 'The owner.', '']);
    expect(rowOf('spec.parts')).toEqual(['`spec.parts`', '[]object', '', '', 'What it is made of.', '']);
    expect(rowOf('spec.parts[].kind')).toEqual([
      '`spec.parts[].kind`',
      'string',
      '',
      '`bolt`',
      '',
      'one of `bolt`, `nut`',
    ]);
    expect(rowOf('spec.parts[].id')[2]).toBe('yes');
    expect(rowOf('spec.labels')[1]).toBe('map[string]string');
    expect(rowOf('spec.tags')).toEqual(['`spec.tags`', '[]string', '', '', '', 'each: length at least 2']);
    expect(rowOf('spec.when')[5]).toBe('must start with @');
  });

  it("states the spec's own rules and its required-ness above its table", () => {
    const at = sectionAt('### `spec`');
    expect(lines[at + 2]).toBe('Required. Rule: give a size or a color.');
    expect(sectionAt('### `spec.owner`')).toBeGreaterThan(at);
    expect(lines[sectionAt('### `spec.owner`') + 2]).toBe('The owner.');
  });

  it('escapes pipes so a pattern stays in its cell', () => {
    expect(constraints({ type: 'string', pattern: '^(a|b)$' })).toEqual(['matches `^(a|b)$`']);
    expect(lines).toContain('| `spec.code` | string |  |  |  | matches `^(a\\|b)$` |');
  });

  it('shows a format instead of the regular expression zod adds for it', () => {
    expect(typeOf({ type: 'string', format: 'date-time', pattern: '^\\d{4}' })).toBe('string (date-time)');
    expect(constraints({ type: 'string', format: 'date-time', pattern: '^\\d{4}' })).toEqual([]);
  });
});
