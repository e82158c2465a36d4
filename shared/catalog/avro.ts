/**
 * Reading an Avro schema's JSON (an .avsc, as it sits in the catalog document) for people: a short
 * label per type, and the named types it defines so a field can refer to one by name. Walks the
 * JSON rather than avsc's Type because the catalog needs what avsc drops: each field's `doc` and
 * the `"deprecated": true` a field may carry (docs/schemas.md).
 */

/** An Avro schema as JSON: a primitive name, a named-type reference, a union (array) or an object. */
export type AvroJson = string | AvroJson[] | AvroObject;

export interface AvroObject {
  type: AvroJson;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: AvroField[];
  symbols?: string[];
  items?: AvroJson;
  values?: AvroJson;
  size?: number;
  logicalType?: string;
  [key: string]: unknown;
}

export interface AvroField {
  name: string;
  type: AvroJson;
  doc?: string;
  default?: unknown;
  deprecated?: boolean;
  [key: string]: unknown;
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** The named types (records, enums, fixed) a schema defines, by short and full name. */
export function namedTypes(schema: AvroJson, into = new Map<string, AvroObject>(), namespace = ''): Map<string, AvroObject> {
  if (Array.isArray(schema)) {
    for (const branch of schema) namedTypes(branch, into, namespace);
    return into;
  }
  if (typeof schema !== 'object' || schema === null) return into;
  if (typeof schema.type === 'object') return namedTypes(schema.type, into, namespace);
  let ns = namespace;
  if (schema.name && (schema.type === 'record' || schema.type === 'enum' || schema.type === 'fixed' || schema.type === 'error')) {
    ns = schema.name.includes('.') ? schema.name.slice(0, schema.name.lastIndexOf('.')) : (schema.namespace ?? namespace);
    const short = schema.name.includes('.') ? schema.name.slice(schema.name.lastIndexOf('.') + 1) : schema.name;
    into.set(short, schema);
    into.set(ns ? `${ns}.${short}` : short, schema);
  }
  for (const field of schema.fields ?? []) namedTypes(field.type, into, ns);
  if (schema.items !== undefined) namedTypes(schema.items, into, ns);
  if (schema.values !== undefined) namedTypes(schema.values, into, ns);
  return into;
}

/** The object form of a type: a named reference resolved, a primitive name as {type}. */
export function resolve(schema: AvroJson, named: Map<string, AvroObject>): AvroObject | AvroJson[] {
  if (Array.isArray(schema)) return schema;
  if (typeof schema === 'string') return PRIMITIVES.has(schema) ? { type: schema } : (named.get(schema) ?? { type: schema });
  if (typeof schema.type === 'object') return resolve(schema.type, named);
  return schema;
}

/** `string`, `long (timestamp-millis)`, `array<string>`, `map<long>`, `enum Status`, `record Money`, `null | string`. */
export function typeLabel(schema: AvroJson, named: Map<string, AvroObject>): string {
  const resolved = resolve(schema, named);
  if (Array.isArray(resolved)) return resolved.map((b) => typeLabel(b, named)).join(' | ');
  const kind = typeof resolved.type === 'string' ? resolved.type : 'unknown';
  const logical = resolved.logicalType ? ` (${resolved.logicalType})` : '';
  if (kind === 'array') return `array<${typeLabel(resolved.items ?? 'null', named)}>`;
  if (kind === 'map') return `map<${typeLabel(resolved.values ?? 'null', named)}>`;
  if (kind === 'record' || kind === 'error' || kind === 'enum' || kind === 'fixed') return `${kind} ${resolved.name ?? ''}`.trim();
  return `${kind}${logical}`;
}

/** The record's fields, or none when the schema is not a record. */
export function recordFields(schema: AvroJson, named: Map<string, AvroObject>): AvroField[] {
  const resolved = resolve(schema, named);
  if (Array.isArray(resolved) || (resolved.type !== 'record' && resolved.type !== 'error')) return [];
  return resolved.fields ?? [];
}

/** Parses an .avsc text; the catalog's schemas were loaded and checked by shared/schemas already. */
export const parseAvsc = (definition: string): AvroObject => JSON.parse(definition) as AvroObject;
