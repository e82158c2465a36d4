/**
 * A query's side of the store, apart from running it: the request and result shapes, query
 * parameters bound as DuckDB values, translator and DuckDB failures as BigQuery's 400s and 404s, and
 * the rows encoded as BigQuery answers them.
 */
import { DuckDBDateValue, DuckDBTimestampTZValue, type DuckDBValue } from '@duckdb/node-api';
import { ApiFailure, invalidQuery, notFound, UnsupportedLocallyError } from '../errors';
import { encodeCell, parseTimestampMicros, type ResultField } from '../values';

export interface QueryRequest {
  query?: string;
  useLegacySql?: boolean;
  defaultDataset?: { datasetId?: string; projectId?: string };
  parameterMode?: string;
  queryParameters?: { name?: string; parameterType?: { type?: string }; parameterValue?: { value?: unknown } }[];
  destinationTable?: unknown;
  dryRun?: boolean;
}

export interface QueryResult {
  schema: { fields: ResultField[] };
  rows: DuckDBValue[][];
  statementType: string;
}

/** Query parameters (@name or ?) -> DuckDB values. */
export function bindParameters(request: QueryRequest, names: string[]): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  const params = request.queryParameters ?? [];
  const convert = (p: (typeof params)[number]): DuckDBValue => {
    const type = String(p.parameterType?.type ?? 'STRING').toUpperCase();
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
