// The field reference of Safehold's custom resources (docs/reference/crds.md),
// generated from the same CRD objects the chart ships, so the page says what
// the API server enforces: types, defaults, required fields, enums, bounds,
// patterns and the messages of CEL rules. Pure: CRD objects in, Markdown out
// (prettier lays out the tables when the file is written).

type Schema = { [key: string]: unknown };

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}

interface CrdObject {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

interface Validation {
  rule: string;
  message?: string;
}

const header = [
  '# Custom resource reference',
  '',
  '<!-- Generated from src/api by scripts/generate-crds.ts; do not edit. -->',
  '',
  "Every field of Safehold's custom resources, as the API server validates them.",
  'A field path ending in `[]` is an item of a list.',
  '"Required" means required when its parent object is given.',
  'Safehold writes `status`; users write `spec`.',
];

export function crdReference(crds: readonly Record<string, unknown>[]): string {
  const objects = crds as unknown as CrdObject[];
  const lines = [...header, '', ...objects.map((crd) => `- [${crd.spec.names.kind}](#${anchor(crd)})`)];
  for (const crd of objects) lines.push('', ...kindSection(crd));
  return `${lines.join('\n')}\n`;
}

function anchor(crd: CrdObject): string {
  return crd.spec.names.kind.toLowerCase();
}

function kindSection(crd: CrdObject): string[] {
  const { group, scope, names } = crd.spec;
  const lines = [`## ${names.kind}`, ''];
  for (const version of crd.spec.versions) {
    const shortNames = names.shortNames ?? [];
    lines.push(
      `- API version: \`${group}/${version.name}\``,
      `- Scope: ${scope === 'Cluster' ? 'cluster' : 'namespaced'}`,
      `- Names: \`${names.plural}\` (plural), \`${names.singular}\` (singular)${
        shortNames.length === 0 ? '' : `, ${shortNames.map((s) => `\`${s}\``).join(', ')} (short)`
      }`,
    );
    if (names.categories !== undefined && names.categories.length > 0)
      lines.push(`- Categories: ${names.categories.map((c) => `\`${c}\``).join(', ')}`);
    lines.push(...printerColumns(names.plural, version.additionalPrinterColumns ?? []));
    const root = version.schema.openAPIV3Schema;
    const properties = (root.properties ?? {}) as Record<string, Schema>;
    const required = (root.required ?? []) as string[];
    for (const top of ['spec', 'status']) {
      const schema = properties[top];
      if (schema === undefined) continue;
      lines.push('', ...objectTables(top, schema, required.includes(top)));
    }
  }
  return lines;
}

function printerColumns(plural: string, columns: readonly PrinterColumn[]): string[] {
  if (columns.length === 0) return [];
  return [
    '',
    `Columns of \`kubectl get ${plural}\`:`,
    '',
    row(['Column', 'JSON path', 'Type', 'Shown']),
    row(['---', '---', '---', '---']),
    ...columns.map((c) => row([c.name, code(c.jsonPath), c.type, (c.priority ?? 0) > 0 ? 'with `-o wide`' : 'always'])),
  ];
}

/** A table of one object's fields, then one per nested object (or list of objects), depth first. */
function objectTables(path: string, schema: Schema, required: boolean): string[] {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const requiredFields = (schema.required ?? []) as string[];
  const lines = [`### \`${path}\``, ''];
  const notes = [
    ...(required ? ['Required.'] : []),
    ...(typeof schema.description === 'string' ? [sentence(schema.description)] : []),
    ...(schema.default === undefined ? [] : [`Default: ${code(json(schema.default))}.`]),
    ...validations(schema).map((v) => `Rule: ${sentence(ruleText(v))}`),
  ];
  if (notes.length > 0) lines.push(notes.join(' '), '');
  lines.push(
    row(['Field', 'Type', 'Required', 'Default', 'Description', 'Constraints']),
    row(['---', '---', '---', '---', '---', '---']),
  );
  const nested: string[] = [];
  for (const [name, field] of Object.entries(properties)) {
    const fieldPath = `${path}.${name}`;
    lines.push(
      row([
        code(fieldPath),
        typeOf(field),
        requiredFields.includes(name) ? 'yes' : '',
        field.default === undefined ? '' : code(json(field.default)),
        typeof field.description === 'string' ? field.description : '',
        constraints(field).join('; '),
      ]),
    );
    if (hasProperties(field)) nested.push('', ...objectTables(fieldPath, field, false));
    const items = field.items as Schema | undefined;
    if (field.type === 'array' && items !== undefined && hasProperties(items))
      nested.push('', ...objectTables(`${fieldPath}[]`, items, false));
  }
  return [...lines, ...nested];
}

function hasProperties(schema: Schema): boolean {
  return schema.type === 'object' && schema.properties !== undefined;
}

export function typeOf(schema: Schema): string {
  const type = typeof schema.type === 'string' ? schema.type : 'any';
  if (type === 'array') return `[]${typeOf((schema.items ?? {}) as Schema)}`;
  if (type === 'object' && schema.properties === undefined && typeof schema.additionalProperties === 'object')
    return `map[string]${typeOf(schema.additionalProperties as Schema)}`;
  if (type === 'string' && typeof schema.format === 'string') return `string (${schema.format})`;
  return type;
}

/** What the API server checks about a value, in words; list items' checks prefixed "each". */
export function constraints(schema: Schema): string[] {
  const own: string[] = [];
  if (Array.isArray(schema.enum)) own.push(`one of ${schema.enum.map((v) => code(String(v))).join(', ')}`);
  const range = (min: unknown, max: unknown, unit: string) => {
    if (typeof min === 'number' && typeof max === 'number') own.push(`${unit} ${min} to ${max}`);
    else if (typeof min === 'number') own.push(`${unit} at least ${min}`);
    else if (typeof max === 'number') own.push(`${unit} at most ${max}`);
  };
  range(schema.minimum, schema.maximum, 'value');
  range(schema.minLength, schema.maxLength, 'length');
  range(schema.minItems, schema.maxItems, 'items');
  // A format (date-time, uri) says it better than the regular expression zod adds for it.
  if (typeof schema.pattern === 'string' && schema.format === undefined) own.push(`matches ${code(schema.pattern)}`);
  for (const v of validations(schema)) own.push(ruleText(v));
  const items = schema.items as Schema | undefined;
  if (schema.type === 'array' && items !== undefined && !hasProperties(items))
    own.push(...constraints(items).map((c) => `each: ${c}`));
  return own;
}

function validations(schema: Schema): Validation[] {
  const list = schema['x-kubernetes-validations'];
  return Array.isArray(list) ? (list as Validation[]) : [];
}

function ruleText(v: Validation): string {
  return v.message ?? `CEL ${code(v.rule)}`;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function json(value: unknown): string {
  return typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value);
}

/** An inline code span that survives a table cell: pipes escaped, backticks fenced by longer runs. */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll('\n', ' ').replaceAll('|', '\\|')).join(' | ')} |`;
}
