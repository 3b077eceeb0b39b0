// Enforces the direction of imports between the folders of src/ (DESIGN.md):
// bin -> controller|mover|cli|dashboard -> core|kube -> api. The mover never
// reaches the API server, so it may not import kube; nothing in src/ may import
// the test environment or tests. Each folder of src/mover is a repository
// engine (restic/): only the registry, src/mover/engines.ts, imports one, and
// engines do not import each other, so the rest of the mover sees the
// interface in src/mover/engine.ts alone.
import { dirname, relative, resolve, sep } from 'node:path';

/** Which folders each folder of src/ may import from (besides itself). */
export const allowedImports = {
  api: [],
  core: ['api'],
  kube: ['api'],
  controller: ['core', 'kube', 'api'],
  mover: ['core', 'api'],
  cli: ['core', 'kube', 'api'],
  dashboard: ['core', 'kube', 'api'],
  bin: ['controller', 'mover', 'cli', 'dashboard', 'core', 'kube', 'api'],
};

/** The layer whose subfolders are engines, and the one file that may import them. */
export const engines = { layer: 'mover', registry: 'mover/engines.ts' };

/** The engine folder a file is in (`restic` for src/mover/restic/...), if any. */
function engineOf(srcRoot, file) {
  const parts = relative(srcRoot, file).split(sep);
  return parts[0] === engines.layer && parts.length > 2 ? parts[1] : undefined;
}

function layerOf(srcRoot, file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..')) return undefined;
  return rel.split(sep)[0];
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: {
      description: 'imports between src/ folders point down: bin -> controller|mover|cli|dashboard -> core|kube -> api',
    },
    schema: [],
    messages: {
      upward: "'{{from}}' may not import from '{{to}}' ({{from}} may import: {{allowed}}).",
      outside: "src/{{from}} may not import '{{target}}': Safehold's code never reaches outside src/.",
      engine:
        'src/{{file}} may not import the engine folder src/{{layer}}/{{engine}}: only src/{{registry}} loads an engine; use the interface in src/{{layer}}/engine.ts.',
    },
  },
  create(context) {
    const file = context.filename;
    const srcRoot = resolve(context.cwd, 'src');
    const from = layerOf(srcRoot, file);
    if (from === undefined || !(from in allowedImports)) return {};
    function check(node, source) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = resolve(dirname(file), source);
      const to = layerOf(srcRoot, target);
      if (to === undefined) {
        context.report({ node, messageId: 'outside', data: { from, target: source } });
        return;
      }
      const engine = engineOf(srcRoot, target);
      const own = relative(srcRoot, file).split(sep).join('/');
      if (engine !== undefined && engine !== engineOf(srcRoot, file) && own !== engines.registry) {
        context.report({
          node,
          messageId: 'engine',
          data: { file: own, layer: engines.layer, engine, registry: engines.registry },
        });
        return;
      }
      if (to === from || !(to in allowedImports)) return;
      if (!allowedImports[from].includes(to)) {
        context.report({
          node,
          messageId: 'upward',
          data: { from, to, allowed: allowedImports[from].join(', ') || 'nothing' },
        });
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};
