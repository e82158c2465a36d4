/**
 * Function calls: every BigQuery function the local endpoint runs is in FUNCTIONS, written with
 * BigQuery's semantics; any other is refused ("unsupported locally: function FOO"), never passed
 * through, because DuckDB functions of the same name often answer differently. SAFE.FN(...) runs FN
 * under DuckDB's try(), which yields NULL instead of an error.
 */
import { UnsupportedLocallyError } from '../../errors';
import type { Emitter } from '../emit';
import { argsOf, type N } from '../node';
import { AGGREGATE_FUNCTIONS } from './aggregate';
import { ARRAY_FUNCTIONS } from './array';
import type { Call, Handler } from './call';
import { castCall, CAST_FUNCTIONS } from './cast';
import { DATE_TIME_FUNCTIONS, extract } from './date-time';
import { JSON_FUNCTIONS } from './json';
import { MATH_FUNCTIONS } from './math';
import { STRING_FUNCTIONS } from './string';

export const FUNCTIONS: Record<string, Handler> = {
  ...AGGREGATE_FUNCTIONS,
  ...ARRAY_FUNCTIONS,
  ...CAST_FUNCTIONS,
  ...DATE_TIME_FUNCTIONS,
  ...JSON_FUNCTIONS,
  ...MATH_FUNCTIONS,
  ...STRING_FUNCTIONS,
};

/** The BigQuery functions the translator rewrites (documented in docs/analysts.md). */
export const TRANSLATED_FUNCTIONS = Object.keys(FUNCTIONS).concat(['CAST', 'SAFE_CAST', 'EXTRACT']).sort();

/** Aggregates that accept DISTINCT / IGNORE NULLS / ORDER BY / LIMIT inside the call (their handlers read them). */
const MODIFIER_AWARE = new Set([
  'FIRST_VALUE',
  'LAST_VALUE',
  'NTH_VALUE',
  'LAG',
  'LEAD',
  'ARRAY_AGG',
  'STRING_AGG',
  'COUNT',
  'SUM',
  'AVG',
  'MIN',
  'MAX',
  'ANY_VALUE',
  'APPROX_COUNT_DISTINCT',
  'COUNTIF',
  'LOGICAL_AND',
  'LOGICAL_OR',
]);

export function emitCall(e: Emitter, n: N): string {
  if (n.type === 'cast_expr') return castCall(e, n);
  if (n.type === 'extract_expr') return extract(e, n);
  let safe = false;
  let name: string;
  if (n.name.type === 'identifier') name = String(n.name.name).toUpperCase();
  else if (n.name.type === 'member_expr' && n.name.object.type === 'identifier' && n.name.property.type === 'identifier') {
    const ns = String(n.name.object.name).toUpperCase();
    name = String(n.name.property.name).toUpperCase();
    if (ns !== 'SAFE') throw new UnsupportedLocallyError(`function ${ns}.${name}`);
    safe = true;
  } else throw new UnsupportedLocallyError(`function call of ${n.name.type}`);
  const handler = FUNCTIONS[name];
  if (!handler) throw new UnsupportedLocallyError(`function ${safe ? `SAFE.${name}` : name}`);
  const modifiers = n.args?.expr?.type === 'func_args' ? (n.args.expr as N) : undefined;
  if (modifiers && (modifiers.distinctKw || modifiers.nullHandlingKw || modifiers.orderBy || modifiers.limit || modifiers.having) && !MODIFIER_AWARE.has(name))
    throw new UnsupportedLocallyError(`${name} with DISTINCT, IGNORE NULLS, ORDER BY or LIMIT`);
  if (n.filter) throw new UnsupportedLocallyError('FILTER clauses');
  const args = argsOf(n);
  const overSql = n.over ? over(e, n.over) : undefined;
  const call: Call = { name, args, e, modifiers, windowed: Boolean(n.over), overSql, sql: (i) => e.node(args[i]) };
  const sql = handler(call);
  const withOver = overSql && !call.overPlaced ? `${sql} ${overSql}` : sql;
  return safe ? `try(${withOver})` : withOver;
}

/** OVER (window) / OVER name. */
export function over(e: Emitter, o: N): string {
  const w = o.window as N;
  return w.type === 'window_definition' ? `OVER (${e.node(w)})` : `OVER ${e.node(w)}`;
}
