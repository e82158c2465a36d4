/**
 * Sample payloads of a schema revision, generated from its Avro type: what `mesh schema readiness`
 * runs through each consumer's decoder and checks, and what the contract tests publish. Deterministic
 * (same schema, same samples), so a gate never flakes. Two per revision: `full` sets every field (a
 * non-empty default is kept, else a value named after the field), `minimal` only the fields without a
 * default (what the consumer's default filling must complete).
 */
import * as avro from 'avsc';
import type { SchemaRevision } from './topic-schemas';

export type SampleVariant = 'full' | 'minimal';

export function samplePayload(revision: Pick<SchemaRevision, 'type'>, variant: SampleVariant): Record<string, unknown> {
  return sampleValue(revision.type, 'value', variant) as Record<string, unknown>;
}

function sampleValue(type: avro.Type, name: string, variant: SampleVariant): unknown {
  if (type instanceof avro.types.RecordType) {
    const out: Record<string, unknown> = {};
    for (const f of type.fields) {
      const fallback = f.defaultValue() as unknown;
      if (variant === 'minimal' && fallback !== undefined) continue;
      out[f.name] = fallback !== undefined && fallback !== '' && fallback !== 0 && fallback !== null ? fallback : sampleValue(f.type, f.name, variant);
    }
    return out;
  }
  if (type instanceof avro.types.EnumType) return type.symbols[0];
  if (type instanceof avro.types.ArrayType) return [sampleValue(type.itemsType, name, variant)];
  if (type instanceof avro.types.MapType) return { [`${name}-key`]: sampleValue(type.valuesType, name, variant) };
  switch (type.typeName) {
    case 'string':
      return `${name}-1`;
    case 'int':
    case 'long':
      return 1;
    case 'float':
    case 'double':
      return 1.5;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      // bytes, fixed, logical types: whatever avsc generates is valid for the type.
      return type.random();
  }
}
