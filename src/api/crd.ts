// CustomResourceDefinitions generated from the zod schemas, so the API server
// validates exactly what Safehold parses. zod's OpenAPI 3.0 JSON Schema is
// made structural: no `additionalProperties: false` beside `properties`, no
// JavaScript-sized integer bounds, an `x-kubernetes-preserve-unknown-fields`
// nowhere it is not asked for.
import { z } from 'zod';
import { apiGroup, apiVersion } from './group.ts';

type JsonSchema = { [key: string]: unknown };

export interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  scope: 'Cluster' | 'Namespaced';
  shortNames?: string[];
  categories?: string[];
  spec: z.ZodType;
  status: z.ZodType;
  /**
   * A status subresource (the default): spec and status are written apart. Off for an object only
   * the operator writes whole, so that creating it is one write, not two.
   */
  statusSubresource?: boolean;
  printerColumns?: {
    name: string;
    type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
    jsonPath: string;
    description?: string;
    priority?: number;
  }[];
}

export function structural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === 'id' || key === '$id') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (
      (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) ||
      (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)
    )
      continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, sub]) => [name, structural(sub)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object' && value !== null) {
      out[key] = structural(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function openApiSchema(schema: z.ZodType): JsonSchema {
  return structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }));
}

export function customResourceDefinition(input: CrdInput): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${input.plural}.${apiGroup}` },
    spec: {
      group: apiGroup,
      scope: input.scope,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        ...(input.shortNames === undefined ? {} : { shortNames: input.shortNames }),
        categories: input.categories ?? ['safehold'],
      },
      versions: [
        {
          name: apiVersion,
          served: true,
          storage: true,
          ...(input.statusSubresource === false ? {} : { subresources: { status: {} } }),
          ...(input.printerColumns === undefined ? {} : { additionalPrinterColumns: input.printerColumns }),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openApiSchema(input.spec),
                status: openApiSchema(input.status),
              },
            },
          },
        },
      ],
    },
  };
}
