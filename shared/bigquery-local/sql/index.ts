/**
 * BigQuery (GoogleSQL) -> DuckDB translation for the local BigQuery endpoint.
 *
 * The query is parsed with sql-parser-cst (parse.ts) and written back from the tree (emit.ts,
 * emit-from.ts, functions/): table paths become "dataset"."table" (datasets are DuckDB schemas),
 * every function comes from an explicit table with BigQuery's semantics, and every node type the
 * emitter does not know is refused. Nothing is passed through unknown: what cannot be translated
 * faithfully throws UnsupportedLocallyError ("unsupported locally: ..."), so a local answer is
 * BigQuery's answer or an error, never a silently different one.
 */
import { UnsupportedLocallyError } from '../errors';
import { Emitter, type TranslateOptions } from './emit';
import type { N } from './node';
import { parseBigQuery } from './parse';

export { UnsupportedLocallyError } from '../errors';
export { tokenize, type Token, type TokenKind } from './tokenizer';
export { duckTypeOf, quoteIdent, quoteString } from './duckdb';
export { TRANSLATED_FUNCTIONS } from './functions';
export type { TranslateOptions } from './emit';

export interface Translation {
  sql: string;
  /** Named parameters (@name) in order of first use; positional ones are '?'. */
  parameters: string[];
}

const QUERIES = new Set(['select_stmt', 'compound_select_stmt']);

/**
 * Recent translations by query text, with the tables they read (replayed to onTable, which may
 * refuse): parsing dominates a translation's cost (a few ms), and dashboards repeat their queries.
 */
const cache = new Map<string, Translation & { tables: [string | undefined, string][]; columns: [string | undefined, string, string][] }>();
const CACHE_SIZE = 256;

/** Translates one BigQuery query (SELECT or WITH ...) to DuckDB SQL. */
export function translateQuery(bigQuerySql: string, options: TranslateOptions = {}): Translation {
  const hit = cache.get(bigQuerySql);
  // A translation that read column types holds while those types do.
  const columnsOf = (dataset: string | undefined, table: string) => JSON.stringify(options.tableColumns?.(dataset, table) ?? null);
  if (hit && hit.columns.every(([dataset, table, json]) => columnsOf(dataset, table) === json)) {
    for (const [dataset, table] of hit.tables) options.onTable?.(dataset, table);
    return { sql: hit.sql, parameters: [...hit.parameters] };
  }
  const tables: [string | undefined, string][] = [];
  const columns: [string | undefined, string, string][] = [];
  const translation = translateFresh(bigQuerySql, {
    onTable: (dataset, table) => {
      tables.push([dataset, table]);
      options.onTable?.(dataset, table);
    },
    tableColumns: (dataset, table) => {
      const found = options.tableColumns?.(dataset, table);
      columns.push([dataset, table, JSON.stringify(found ?? null)]);
      return found;
    },
  });
  cache.delete(bigQuerySql);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(bigQuerySql, { ...translation, parameters: [...translation.parameters], tables, columns });
  return translation;
}

function translateFresh(bigQuerySql: string, options: TranslateOptions): Translation {
  let parsed;
  try {
    parsed = parseBigQuery(bigQuerySql);
  } catch (error) {
    if (error instanceof UnsupportedLocallyError) throw error;
    const message = (error as Error).message ?? String(error);
    // The parser knows DDL/DML/scripting: name what was refused rather than a syntax error.
    const keyword = /^\s*(?:--[^\n]*\n|#[^\n]*\n|\/\*[\s\S]*?\*\/|\s)*([A-Za-z]+)/.exec(bigQuerySql)?.[1]?.toUpperCase() ?? '';
    if (keyword && !['SELECT', 'WITH'].includes(keyword))
      throw new UnsupportedLocallyError(`${keyword} statements (only queries, SELECT or WITH ..., run on the local endpoint)`);
    throw new SyntaxError(message.split('\n')[0], { cause: error });
  }
  const statements = (parsed.program.statements as unknown as N[]).filter((s) => s.type !== 'empty');
  if (statements.length > 1) throw new UnsupportedLocallyError('multi-statement queries (scripting)');
  const statement = statements[0];
  if (!statement) throw new SyntaxError('empty query');
  if (!QUERIES.has(statement.type)) {
    const keyword =
      bigQuerySql
        .slice(statement.range[0])
        .match(/^[A-Za-z]+/)?.[0]
        ?.toUpperCase() ?? statement.type;
    throw new UnsupportedLocallyError(`${keyword} statements (only queries, SELECT or WITH ..., run on the local endpoint)`);
  }
  const emitter = new Emitter(parsed, options);
  const sql = emitter.node(statement);
  // Lifted forms that no node claimed were somewhere the emitter does not place them.
  if (parsed.timeZones.size) throw new UnsupportedLocallyError('AT TIME ZONE outside EXTRACT');
  if (parsed.nulls.size) throw new UnsupportedLocallyError('NULLS FIRST / NULLS LAST outside ORDER BY');
  if (parsed.replaces.size) throw new UnsupportedLocallyError('REPLACE (...) after EXCEPT (...) here');
  return { sql, parameters: emitter.parameters };
}
