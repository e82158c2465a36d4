/**
 * BigQuery (GoogleSQL) -> DuckDB translation for the local BigQuery endpoint.
 *
 * Deliberately small and explicit: a tokenizer (tokenizer.ts) that understands BigQuery's string literals,
 * backquoted identifiers and comments, then a walk over the tokens (translator.ts) that rewrites
 *  - table paths: `project.dataset.table` / dataset.table -> "dataset"."table" (datasets are DuckDB schemas);
 *  - the functions in functions.ts (TIMESTAMP_TRUNC, TIMESTAMP_DIFF, COUNTIF, JSON_VALUE, SAFE_CAST ...);
 *  - type names inside CAST / SAFE_CAST and typed literals (TIMESTAMP '...' -> TIMESTAMPTZ '...');
 *  - small syntax differences (SELECT * EXCEPT (...) -> EXCLUDE, UNION DISTINCT -> UNION, # comments,
 *    "double-quoted strings", r'raw strings', @named parameters -> $named).
 * Everything else is passed through: DuckDB shares most of the syntax (QUALIFY, window functions, CTEs,
 * COALESCE, APPROX_COUNT_DISTINCT ...). Constructs known not to work locally throw UnsupportedLocallyError
 * with a message starting "unsupported locally:"; the server reports DuckDB failures the same way.
 */
import { UnsupportedLocallyError } from '../errors';
import { tokenize } from './tokenizer';
import { Translator, type TranslateOptions } from './translator';

export { UnsupportedLocallyError } from '../errors';
export { tokenize, type Token, type TokenKind } from './tokenizer';
export { duckTypeOf, quoteIdent, quoteString } from './duckdb';
export { TRANSLATED_FUNCTIONS } from './functions';
export type { TranslateOptions } from './translator';

export interface Translation {
  sql: string;
  /** Named parameters (@name) in order of first use; positional ones are '?'. */
  parameters: string[];
}

/** Translates one BigQuery query (SELECT or WITH ...) to DuckDB SQL. */
export function translateQuery(bigQuerySql: string, options: TranslateOptions = {}): Translation {
  const tokens = tokenize(bigQuerySql);
  const sig = tokens.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
  // One statement: a trailing semicolon is fine, a second statement is scripting.
  const semicolon = sig.findIndex((t) => t.kind === 'op' && t.value === ';');
  if (semicolon >= 0 && semicolon < sig.length - 1) throw new UnsupportedLocallyError('multi-statement queries (scripting)');
  const first = sig.find((t) => !(t.kind === 'op' && t.value === '('));
  const keyword = first?.kind === 'ident' ? first.value.toUpperCase() : '';
  if (keyword !== 'SELECT' && keyword !== 'WITH') {
    throw new UnsupportedLocallyError(`${keyword || 'this'} statements (only queries, SELECT or WITH ..., run on the local endpoint)`);
  }
  const translator = new Translator(tokens, options);
  return { sql: translator.emit(0, tokens.length).trim().replace(/;\s*$/, ''), parameters: translator.parameters };
}
