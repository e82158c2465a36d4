/**
 * A query's side of the store, apart from running it: the request and result shapes, query
 * parameters (bound in parameters.ts), translator and DuckDB failures as BigQuery's 400s and 404s, and
 * the rows encoded as BigQuery answers them.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { ApiFailure, invalidQuery, notFound, UnsupportedLocallyError } from '../errors';
import { encodeCell, type ResultField } from '../values';
import type { QueryParameter } from './parameters';

export interface QueryRequest {
  query?: string;
  useLegacySql?: boolean;
  defaultDataset?: { datasetId?: string; projectId?: string };
  parameterMode?: string;
  queryParameters?: QueryParameter[];
  destinationTable?: unknown;
  dryRun?: boolean;
}

export interface QueryResult {
  schema: { fields: ResultField[] };
  rows: DuckDBValue[][];
  statementType: string;
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
