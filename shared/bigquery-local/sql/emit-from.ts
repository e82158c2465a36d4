/**
 * FROM clauses: table paths (`project.dataset.table` in any quoting -> "dataset"."table"; datasets
 * are DuckDB schemas), joins, and UNNEST / correlated array paths (`FROM t, t.arr AS x`), which bind
 * the alias to the element as BigQuery does.
 */
import { UnsupportedLocallyError } from '../errors';
import { quoteIdent } from './duckdb';
import type { Emitter } from './emit';
import { pathParts } from './node';
import { kw, type N } from './node';

/** Per FROM clause: the aliases (and bare table names) seen so far, for `t.arr` paths. */
type Scope = Set<string>;

export function emitFrom(e: Emitter, n: N): string {
  return item(e, n, new Set());
}

function item(e: Emitter, n: N, scope: Scope): string {
  switch (n.type) {
    case 'join_expr': {
      const left = item(e, n.left, scope);
      const op = n.operator === ',' ? ',' : ` ${kw(n.operator)}`;
      const right = item(e, n.right, scope);
      // JOIN / LEFT JOIN UNNEST(...) without ON: BigQuery joins each row to its array's elements (DuckDB needs ON TRUE).
      const needsOn = n.operator !== ',' && !/CROSS|NATURAL/.test(kw(n.operator)) && /^\(SELECT unnest\(/.test(right);
      const spec = n.specification ? ` ${e.node(n.specification)}` : needsOn ? ' ON TRUE' : '';
      return `${left}${op} ${right}${spec}`;
    }
    case 'alias':
      if (n.columnAliases) throw new UnsupportedLocallyError('column aliases on a table alias');
      return source(e, n.expr, String(n.alias.name), undefined, scope);
    case 'unnest_with_offset_expr':
      return withOffset(e, n, undefined, scope);
    case 'paren_expr':
      return `(${n.expr.type === 'select_stmt' || n.expr.type === 'compound_select_stmt' ? e.node(n.expr) : item(e, n.expr, scope)})`;
    default:
      return source(e, n, undefined, undefined, scope);
  }
}

function withOffset(e: Emitter, n: N, offsetAlias: string | undefined, scope: Scope): string {
  const u = n.unnest as N;
  const alias = u.type === 'alias' ? String(u.alias.name) : undefined;
  const inner = u.type === 'alias' ? u.expr : u;
  return source(e, inner, alias, offsetAlias ?? 'offset', scope);
}

/** One FROM item: a table, a subquery, UNNEST(...) or a correlated array path, with its alias. */
function source(e: Emitter, n: N, alias: string | undefined, offset: string | undefined, scope: Scope): string {
  if (n.type === 'unnest_with_offset_expr') return withOffset(e, n, alias, scope);
  if (n.type === 'unnest_expr') return unnest(e, e.node(n.expr.expr), alias, offset);
  if (n.type === 'paren_expr' || n.type === 'select_stmt' || n.type === 'compound_select_stmt') {
    const sub = n.type === 'paren_expr' ? e.node(n) : `(${e.node(n)})`;
    if (alias) scope.add(alias.toLowerCase());
    return alias ? `${sub} AS ${quoteIdent(alias)}` : sub;
  }
  if (n.type === 'tablesample_expr') throw new UnsupportedLocallyError('TABLESAMPLE');
  if (n.type === 'pivot_expr' || n.type === 'unpivot_expr') throw new UnsupportedLocallyError(n.type === 'pivot_expr' ? 'PIVOT' : 'UNPIVOT');
  if (n.type === 'func_call') throw new UnsupportedLocallyError('table functions');
  const parts = pathParts(n);
  // t.arr where t is an earlier FROM item: an implicit UNNEST of that row's array.
  if (parts.length >= 2 && scope.has(parts[0].toLowerCase()) && n.type !== 'bigquery_quoted_member_expr') {
    return unnest(e, parts.map(quoteIdent).join('.'), alias ?? parts[parts.length - 1], offset);
  }
  const table = tablePath(e, parts);
  scope.add((alias ?? parts[parts.length - 1]).toLowerCase());
  return alias ? `${table} AS ${quoteIdent(alias)}` : table;
}

function tablePath(e: Emitter, parts: string[]): string {
  const joined = parts.join('.');
  if (joined.includes('*')) throw new UnsupportedLocallyError('wildcard tables');
  const flat = parts.flatMap((p) => p.split('.'));
  if (flat.some((p) => p.toUpperCase() === 'INFORMATION_SCHEMA')) throw new UnsupportedLocallyError('INFORMATION_SCHEMA views');
  if (flat.length > 3 || flat.some((p) => !p)) throw new UnsupportedLocallyError(`table path ${joined}`);
  const table = flat[flat.length - 1];
  const dataset = flat.length >= 2 ? flat[flat.length - 2] : undefined;
  if (dataset !== undefined || !e.cteNames.has(table.toLowerCase())) e.options.onTable?.(dataset, table);
  return (dataset ? [dataset, table] : [table]).map(quoteIdent).join('.');
}

/**
 * UNNEST(arr) [AS x] [WITH OFFSET [AS off]]: a lateral subquery whose column is the element (named x,
 * or f0_ as BigQuery names it); two UNNESTs in one DuckDB SELECT list advance together, which gives
 * the 0-based offset. Without an alias, elements that are STRUCTs expose their fields as columns.
 */
function unnest(e: Emitter, list: string, alias: string | undefined, offset: string | undefined): string {
  const name = `_unnest_${e.nextId()}`;
  const off = offset ? `, unnest(range(len(${list}))) AS ${quoteIdent(offset)}` : '';
  if (alias) return `(SELECT unnest(${list}) AS ${quoteIdent(alias)}${off}) AS ${name}`;
  return `(SELECT unnest(${list}, max_depth := 2)${off}) AS ${name}`;
}
