/**
 * A query's side of the store, apart from running it: the request and result shapes, query
 * parameters bound as DuckDB values, translator and DuckDB failures as BigQuery's 400s and 404s, and
 * the rows encoded as BigQuery answers them.
 */
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBDateValue,
  DuckDBTimestampTZValue,
  LIST,
  listValue,
  TIMESTAMPTZ,
  VARCHAR,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { ApiFailure, invalidQuery, notFound, UnsupportedLocallyError } from '../errors';
import { encodeCell, parseTimestampMicros, type ResultField } from '../values';

export interface QueryRequest {
  query?: string;
  useLegacySql?: boolean;
  defaultDataset?: { datasetId?: string; projectId?: string };
  parameterMode?: string;
  queryParameters?: QueryParameter[];
  destinationTable?: unknown;
  dryRun?: boolean;
}

/** A query parameter as the REST API carries it; arrays as arrayType / arrayValues. */
export interface QueryParameter {
  name?: string;
  parameterType?: { type?: string; arrayType?: { type?: string } };
  parameterValue?: { value?: unknown; arrayValues?: { value?: unknown }[] };
}

export interface QueryResult {
  schema: { fields: ResultField[] };
  rows: DuckDBValue[][];
  statementType: string;
}

/** Query parameters (@name or ?) -> DuckDB values. */
export function bindParameters(request: QueryRequest, names: string[]): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  const params = request.queryParameters ?? [];
  const convert = (p: QueryParameter): DuckDBValue => {
    const type = String(p.parameterType?.type ?? 'STRING').toUpperCase();
    if (type === 'ARRAY') {
      // IN UNNEST(@ids) and the like; BigQuery has no NULL arrays in parameters, an absent list is empty.
      const itemType = { type: p.parameterType?.arrayType?.type ?? 'STRING' };
      return listValue((p.parameterValue?.arrayValues ?? []).map((item) => convert({ name: p.name, parameterType: itemType, parameterValue: item })));
    }
    const raw = p.parameterValue?.value;
    if (raw === null || raw === undefined) return null;
    const value = String(raw);
    switch (type) {
      case 'INT64':
      case 'INTEGER':
        if (!/^[+-]?\d+$/.test(value)) throw invalidQuery(`Query parameter ${p.name ?? ''} is not an INT64: ${value}`);
        return BigInt(value);
      case 'FLOAT64':
      case 'FLOAT':
      case 'NUMERIC':
        return Number(value);
      case 'BOOL':
      case 'BOOLEAN':
        return value.toLowerCase() === 'true';
      case 'STRING':
      case 'JSON':
        return value;
      case 'TIMESTAMP': {
        const micros = parseTimestampMicros(value.replace(/\s*\+00(:00)?$/, 'Z'));
        if (micros === undefined) throw invalidQuery(`Query parameter ${p.name ?? ''} is not a TIMESTAMP: ${value}`);
        return new DuckDBTimestampTZValue(micros);
      }
      case 'DATE': {
        const micros = parseTimestampMicros(value, false);
        if (micros === undefined) throw invalidQuery(`Query parameter ${p.name ?? ''} is not a DATE: ${value}`);
        return new DuckDBDateValue(Number(micros / 86_400_000_000n));
      }
      default:
        throw invalidQuery(`unsupported locally: query parameters of type ${type}`);
    }
  };
  if (names.length) {
    const byName: Record<string, DuckDBValue> = {};
    for (const name of names) {
      const p = params.find((q) => q.name?.toLowerCase() === name.toLowerCase());
      if (!p) throw invalidQuery(`Query parameter '${name}' not found`);
      byName[name] = convert(p);
    }
    return byName;
  }
  return params.length ? params.map(convert) : undefined;
}

const DUCK_ITEM_TYPES: Record<string, DuckDBType> = {
  STRING: VARCHAR,
  JSON: VARCHAR,
  INT64: BIGINT,
  INTEGER: BIGINT,
  FLOAT64: DOUBLE,
  FLOAT: DOUBLE,
  NUMERIC: DOUBLE,
  BOOL: BOOLEAN,
  BOOLEAN: BOOLEAN,
  TIMESTAMP: TIMESTAMPTZ,
  DATE: DATE,
};

/**
 * DuckDB types of the ARRAY parameters (DuckDB cannot infer a list's type from its values when it is
 * empty); undefined for the others, whose type DuckDB infers.
 */
export function parameterTypes(request: QueryRequest, names: string[]): DuckDBType[] | Record<string, DuckDBType | undefined> | undefined {
  const params = request.queryParameters ?? [];
  const typeOf = (p: QueryParameter | undefined) =>
    String(p?.parameterType?.type).toUpperCase() === 'ARRAY'
      ? LIST(DUCK_ITEM_TYPES[String(p?.parameterType?.arrayType?.type ?? 'STRING').toUpperCase()] ?? VARCHAR)
      : undefined;
  if (!params.some((p) => String(p.parameterType?.type).toUpperCase() === 'ARRAY')) return undefined;
  if (names.length) return Object.fromEntries(names.map((name) => [name, typeOf(params.find((q) => q.name?.toLowerCase() === name.toLowerCase()))]));
  // Positional parameters take a type each.
  return params.map((p) => typeOf(p) ?? DUCK_ITEM_TYPES[String(p.parameterType?.type ?? 'STRING').toUpperCase()] ?? VARCHAR);
}

/** Translator failures -> BigQuery-shaped 400s. */
export function queryError(error: unknown): unknown {
  if (error instanceof ApiFailure) return error;
  if (error instanceof UnsupportedLocallyError) return invalidQuery(error.message);
  if (error instanceof SyntaxError) return invalidQuery(`Syntax error: ${error.message}`);
  return error;
}

/**
 * DuckDB failures: parser, binder and catalog errors mean the translation did not produce something
 * DuckDB runs (a BigQuery feature the translator does not cover); runtime errors (a bad cast, a
 * division...) are the query's own.
 */
export function duckQueryError(error: unknown, sql: string): ApiFailure {
  const message = (error as Error).message ?? String(error);
  const first = message.split('\n')[0];
  const table = /^Catalog Error: Table with name (\S+) does not exist/.exec(first);
  if (table) return notFound(`Table ${table[1]}`);
  if (/(Parser|Binder|Catalog|Not implemented|Syntax) Error/i.test(first)) {
    return invalidQuery(`unsupported locally: DuckDB cannot run this query as translated (${first}). Translated SQL: ${sql}`);
  }
  return invalidQuery(first);
}

export const encodeRows = (fields: ResultField[], rows: DuckDBValue[][], int64Timestamp: boolean) =>
  rows.map((row) => ({ f: row.map((value, k) => ({ v: encodeCell(fields[k], value, { int64Timestamp }) })) }));
