import fc from 'fast-check';

// Requests generated from the served OpenAPI document, as a client generator
// or a schema fuzzer would see it: values valid by each parameter's JSON
// schema, and values that are anything at all. Only the shapes the document
// uses for query parameters are understood; an unknown one fails loudly so
// the generator grows with the API instead of skipping a parameter.

export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly default?: unknown;
  readonly anyOf?: readonly JsonSchema[];
}

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

export interface Operation {
  readonly security?: Record<string, string[]>[];
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: { readonly required?: boolean };
  readonly responses: Record<string, unknown>;
}

export interface OpenApiDoc {
  readonly paths: Record<string, Record<string, Operation>>;
}

/** RFC 3339 date-times as clients write them: with or without fractions, `Z` or an offset. */
const RFC3339 = fc
  .tuple(
    fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2999-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
    fc.boolean(),
    fc.constantFrom('Z', '+00:00', '+05:30', '-08:00'),
  )
  .map(([d, fraction, zone]) => {
    const text = d.toISOString();
    return `${fraction ? text.slice(0, -1) : text.slice(0, 19)}${zone}`;
  });

/** A value (as the query string carries it) valid by `schema`. */
export function validValue(schema: JsonSchema, where: string): fc.Arbitrary<string> {
  if (schema.anyOf !== undefined)
    return fc.oneof(...schema.anyOf.map((s, i) => validValue(s, `${where}.anyOf[${i}]`)));
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum.map(String));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer' || type === 'number') {
    const unbounded = Number.MAX_SAFE_INTEGER;
    const min =
      schema.minimum ?? (schema.exclusiveMinimum === undefined ? -unbounded : schema.exclusiveMinimum + 1);
    const max =
      schema.maximum ?? (schema.exclusiveMaximum === undefined ? unbounded : schema.exclusiveMaximum - 1);
    // Whole range, including past 32 bits where a database column might overflow.
    return fc.bigInt({ min: BigInt(Math.ceil(min)), max: BigInt(Math.floor(max)) }).map(String);
  }
  if (type === 'boolean') return fc.constantFrom('true', 'false');
  if (type === 'string') {
    const minLength = schema.minLength ?? 0;
    const maxLength = schema.maxLength ?? 80;
    const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
    if (schema.format === 'date-time') return RFC3339.filter((s) => pattern(schema)(s));
    if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
    return fc.string({ minLength, maxLength, unit: 'grapheme' });
  }
  throw new Error(
    `${where}: no generator for schema ${JSON.stringify(schema)}; teach openapi-arbitraries.ts`,
  );
}

const pattern = (schema: JsonSchema) => {
  const re = schema.pattern === undefined ? undefined : new RegExp(schema.pattern);
  return (s: string) => re === undefined || re.test(s);
};

/** A query string valid by the operation's query parameters (each optional one present or not). */
export function validQuery(op: Operation, where: string): fc.Arbitrary<string> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  const entries = params.map((p) => {
    const value = validValue(p.schema, `${where} ?${p.name}`);
    return (p.required === true ? value : fc.option(value, { nil: undefined })).map(
      (v) => [p.name, v] as const,
    );
  });
  return fc.tuple(...entries).map((pairs) => {
    const search = new URLSearchParams();
    for (const [name, value] of pairs) if (value !== undefined) search.set(name, value);
    const text = search.toString();
    return text === '' ? '' : `?${text}`;
  });
}

/** Anything in a query string: known names with arbitrary values, and unknown names. */
export function anyQuery(op: Operation): fc.Arbitrary<string> {
  const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  const name =
    names.length === 0 ? fc.string({ maxLength: 12 }) : fc.oneof(fc.constantFrom(...names), fc.string());
  return fc
    .array(
      fc.tuple(name, fc.oneof(fc.string({ maxLength: 600 }), fc.string({ maxLength: 20, unit: 'binary' }))),
      {
        maxLength: 4,
      },
    )
    .map((pairs) => {
      const text = new URLSearchParams(pairs).toString();
      return text === '' ? '' : `?${text}`;
    });
}

/**
 * A path parameter value that may be anything: empty-ish, huge, unicode, percent signs. Not a
 * dot segment (`.`, `..`, `%2e`): the client's URL parser removes those before the request leaves
 * (`/orgs/./connections` is sent as `/orgs/connections`), so no request can carry one.
 */
export const anyPathValue: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 20 }),
    fc.string({ minLength: 60, maxLength: 300 }),
    fc.string({ minLength: 1, maxLength: 10, unit: 'binary' }),
    fc.constantFrom('%00', '%2F', 'org_00000000000000000000000000'),
  )
  .filter((value) => !/^(\.|%2e){1,2}$/i.test(value));

/** A request body: a JSON value of any shape, broken JSON, or another media type. */
export type BodyCase =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'raw'; readonly text: string; readonly contentType: string | null };

export const anyBody: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 })
    .map((value) => ({ kind: 'json' as const, value })),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 20, unit: 'binary' }), { maxKeys: 4 })
    .map((value) => ({ kind: 'json' as const, value })),
  fc
    .string({ maxLength: 40 })
    .map((text) => ({ kind: 'raw' as const, text, contentType: 'application/json' })),
  fc.string({ maxLength: 40 }).map((text) => ({ kind: 'raw' as const, text, contentType: 'text/plain' })),
  fc
    .string({ minLength: 1, maxLength: 40 })
    .map((text) => ({ kind: 'raw' as const, text, contentType: null })),
  fc.constant({ kind: 'raw' as const, text: '', contentType: null }),
);
