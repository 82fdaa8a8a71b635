import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

// E2B's OpenAPI document as the e2b package ships it: its type declarations
// carry the generated `paths` and `components` (openapi-typescript output of
// E2B's published spec). Read at run time with the TypeScript parser: which
// methods each path has, which status codes each operation declares, and each
// schema's properties (required or not) — what the conformance test checks
// the stand-in against. Nothing of E2B's is copied into this repository.

export interface Operation {
  readonly statuses: ReadonlySet<number>;
  /** The 2xx JSON body's schema name, when it is a `components["schemas"][X]` (or an array of one). */
  readonly body: { readonly schema: string; readonly array: boolean } | null;
}

export interface Schema {
  readonly properties: ReadonlySet<string>;
  readonly required: ReadonlySet<string>;
}

export interface OpenApiShapes {
  readonly version: string;
  /** `METHOD /path` → its operation. */
  readonly operations: ReadonlyMap<string, Operation>;
  readonly schemas: ReadonlyMap<string, Schema>;
}

function propertyName(member: ts.TypeElement): string | null {
  const name = member.name;
  if (name === undefined) return null;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return null;
}

function members(node: ts.Node | undefined): ts.NodeArray<ts.TypeElement> | [] {
  if (node !== undefined && (ts.isTypeLiteralNode(node) || ts.isInterfaceDeclaration(node)))
    return node.members;
  return [];
}

function member(node: ts.Node | undefined, name: string): ts.PropertySignature | undefined {
  for (const m of members(node)) if (ts.isPropertySignature(m) && propertyName(m) === name) return m;
  return undefined;
}

/** `components["schemas"]["X"]` or `components["schemas"]["X"][]` → X. */
function schemaRef(type: ts.TypeNode | undefined): Operation['body'] {
  if (type === undefined) return null;
  if (ts.isArrayTypeNode(type)) {
    const inner = schemaRef(type.elementType);
    return inner === null ? null : { schema: inner.schema, array: true };
  }
  if (
    ts.isIndexedAccessTypeNode(type) &&
    ts.isLiteralTypeNode(type.indexType) &&
    ts.isStringLiteral(type.indexType.literal)
  ) {
    const outer = type.objectType;
    if (
      ts.isIndexedAccessTypeNode(outer) &&
      ts.isLiteralTypeNode(outer.indexType) &&
      ts.isStringLiteral(outer.indexType.literal) &&
      outer.indexType.literal.text === 'schemas'
    )
      return { schema: type.indexType.literal.text, array: false };
  }
  return null;
}

function operation(node: ts.TypeNode): Operation {
  const statuses = new Set<number>();
  let body: Operation['body'] = null;
  for (const response of members(member(node, 'responses')?.type)) {
    const code = Number(propertyName(response));
    if (!Number.isInteger(code)) continue;
    statuses.add(code);
    if (code >= 200 && code < 300 && ts.isPropertySignature(response))
      body ??= schemaRef(member(member(response.type, 'content')?.type, 'application/json')?.type);
  }
  return { statuses, body };
}

export function loadOpenApiShapes(): OpenApiShapes {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('e2b');
  const root = join(dirname(entry), '..');
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
  const file = ts.createSourceFile(
    'index.d.ts',
    readFileSync(join(root, 'dist/index.d.ts'), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const declarations = new Map<string, ts.InterfaceDeclaration>();
  file.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) declarations.set(node.name.text, node);
  });
  const operations = new Map<string, Operation>();
  for (const path of members(declarations.get('paths'))) {
    const route = propertyName(path);
    if (route === null || !ts.isPropertySignature(path)) continue;
    for (const method of members(path.type)) {
      const name = propertyName(method);
      if (
        name === null ||
        name === 'parameters' ||
        !ts.isPropertySignature(method) ||
        method.type === undefined
      )
        continue;
      if (method.type.kind === ts.SyntaxKind.NeverKeyword) continue;
      operations.set(`${name.toUpperCase()} ${route}`, operation(method.type));
    }
  }
  const schemas = new Map<string, Schema>();
  for (const schema of members(member(declarations.get('components'), 'schemas')?.type)) {
    const name = propertyName(schema);
    if (name === null || !ts.isPropertySignature(schema)) continue;
    const properties = new Set<string>();
    const required = new Set<string>();
    for (const property of members(schema.type)) {
      const key = propertyName(property);
      if (key === null) continue;
      properties.add(key);
      if (property.questionToken === undefined) required.add(key);
    }
    schemas.set(name, { properties, required });
  }
  return { version, operations, schemas };
}
