/**
 * Query parameters as the REST API carries them (parameterType / parameterValue, with ARRAY's
 * arrayType / arrayValues and STRUCT's structTypes / structValues, nested either way) bound as DuckDB
 * values of DuckDB types: ARRAY -> LIST, STRUCT -> STRUCT with the fields' names, NUMERIC and
 * BIGNUMERIC -> DECIMAL(38,9) (exact), scalars as the table columns are stored (store/table-schema.ts).
 * Every parameter gets its type, so an empty array or a NULL still has one.
 */
import {
  BIGINT,
  BLOB,
  blobValue,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  LIST,
  listValue,
  STRUCT,
  structValue,
  TIME,
  TIMESTAMP,
  TIMESTAMPTZ,
  VARCHAR,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { invalidQuery } from '../errors';
import { parseTimeOfDay, parseTimestampMicros } from '../values';
import { scaledDecimal } from '../values/nested';

export interface QueryParameterType {
  type?: string;
  arrayType?: QueryParameterType;
  structTypes?: { name?: string; type?: QueryParameterType; description?: string }[];
}

export interface QueryParameterValue {
  value?: unknown;
  arrayValues?: QueryParameterValue[];
  structValues?: Record<string, QueryParameterValue>;
}

/** A query parameter as the REST API carries it. */
export interface QueryParameter {
  name?: string;
  parameterType?: QueryParameterType;
  parameterValue?: QueryParameterValue;
}

const SCALAR_TYPES: Record<string, DuckDBType> = {
  STRING: VARCHAR,
  JSON: VARCHAR,
  INT64: BIGINT,
  INTEGER: BIGINT,
  FLOAT64: DOUBLE,
  FLOAT: DOUBLE,
  NUMERIC: DECIMAL(38, 9),
  BIGNUMERIC: DECIMAL(38, 9),
  BOOL: BOOLEAN,
  BOOLEAN: BOOLEAN,
  BYTES: BLOB,
  TIMESTAMP: TIMESTAMPTZ,
  DATETIME: TIMESTAMP,
  DATE: DATE,
  TIME: TIME,
};

const typeName = (t: QueryParameterType | undefined) => String(t?.type ?? 'STRING').toUpperCase();

/** The DuckDB type of a parameter's type. */
export function parameterDuckType(t: QueryParameterType | undefined, name: string): DuckDBType {
  const type = typeName(t);
  if (type === 'ARRAY') {
    if (typeName(t?.arrayType) === 'ARRAY') throw invalidQuery(`Query parameter ${name}: an ARRAY cannot contain an ARRAY directly`);
    return LIST(parameterDuckType(t?.arrayType, name));
  }
  if (type === 'STRUCT' || type === 'RECORD') {
    return STRUCT(Object.fromEntries((t?.structTypes ?? []).map((s, k) => [s.name ?? `_field_${k + 1}`, parameterDuckType(s.type, name)])));
  }
  const scalar = SCALAR_TYPES[type];
  if (!scalar) throw invalidQuery(`unsupported locally: query parameters of type ${type}`);
  return scalar;
}

/** The DuckDB value of a parameter's value, checked against its type. */
export function parameterDuckValue(t: QueryParameterType | undefined, v: QueryParameterValue | undefined, name: string): DuckDBValue {
  const type = typeName(t);
  if (type === 'ARRAY') {
    // BigQuery has no NULL arrays in parameters: an absent list is empty.
    return listValue((v?.arrayValues ?? []).map((item) => parameterDuckValue(t?.arrayType, item, name)));
  }
  if (type === 'STRUCT' || type === 'RECORD') {
    if (!v?.structValues) return null;
    const values = v.structValues;
    return structValue(
      Object.fromEntries(
        (t?.structTypes ?? []).map((s, k) => {
          const field = s.name ?? `_field_${k + 1}`;
          return [field, parameterDuckValue(s.type, values[field], `${name}.${field}`)];
        }),
      ),
    );
  }
  const raw = v?.value;
  if (raw === null || raw === undefined) return null;
  const value = String(raw);
  const bad = () => invalidQuery(`Query parameter ${name} is not a ${type}: ${value}`);
  switch (type) {
    case 'INT64':
    case 'INTEGER':
      if (!/^[+-]?\d+$/.test(value)) throw bad();
      return BigInt(value);
    case 'FLOAT64':
    case 'FLOAT':
      return Number(value);
    case 'NUMERIC':
    case 'BIGNUMERIC':
      if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) throw bad();
      return new DuckDBDecimalValue(scaledDecimal(value), 38, 9);
    case 'BOOL':
    case 'BOOLEAN':
      return value.toLowerCase() === 'true';
    case 'BYTES':
      return blobValue(Buffer.from(value, 'base64'));
    case 'TIMESTAMP': {
      const micros = parseTimestampMicros(value.replace(/\s*\+00(:00)?$/, 'Z'));
      if (micros === undefined) throw bad();
      return new DuckDBTimestampTZValue(micros);
    }
    case 'DATETIME': {
      const micros = parseTimestampMicros(value, false);
      if (micros === undefined) throw bad();
      return new DuckDBTimestampValue(micros);
    }
    case 'DATE': {
      const micros = parseTimestampMicros(value, false);
      if (micros === undefined) throw bad();
      return new DuckDBDateValue(Number(micros / 86_400_000_000n));
    }
    case 'TIME': {
      const time = parseTimeOfDay(value);
      if (!time) throw bad();
      return new DuckDBTimeValue(time.micros);
    }
    case 'STRING':
    case 'JSON':
      return value;
    default:
      throw invalidQuery(`unsupported locally: query parameters of type ${type}`);
  }
}

/**
 * The values and DuckDB types of a query's parameters: by name when the query names them (@name),
 * else in order (?).
 */
export function boundParameters(
  params: QueryParameter[],
  names: string[],
): { values?: DuckDBValue[] | Record<string, DuckDBValue>; types?: DuckDBType[] | Record<string, DuckDBType> } {
  const bind = (p: QueryParameter, name: string): [DuckDBValue, DuckDBType] => [
    parameterDuckValue(p.parameterType, p.parameterValue, name),
    parameterDuckType(p.parameterType, name),
  ];
  if (names.length) {
    const values: Record<string, DuckDBValue> = {};
    const types: Record<string, DuckDBType> = {};
    for (const name of names) {
      const p = params.find((q) => q.name?.toLowerCase() === name.toLowerCase());
      if (!p) throw invalidQuery(`Query parameter '${name}' not found`);
      [values[name], types[name]] = bind(p, name);
    }
    return { values, types };
  }
  if (!params.length) return {};
  const bound = params.map((p, k) => bind(p, p.name ?? `#${k + 1}`));
  return { values: bound.map(([value]) => value), types: bound.map(([, type]) => type) };
}
