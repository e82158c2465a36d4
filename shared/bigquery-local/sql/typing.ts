/**
 * What the translator can know of an expression's type before DuckDB runs it: literals, CASTs, and
 * plain column references (`col`, `alias.col`) to the FROM items in scope, whose columns come from
 * the catalog (TranslateOptions.tableColumns) or from a subquery's / WITH table's select list.
 * Types are DuckDB type names (DECIMAL(38,9) for NUMERIC); undefined means not known here.
 */
import { duckTypeOf } from './duckdb';
import { items, kw, type N } from './node';
import { dataTypeOf } from './types';

/** The columns of a FROM item: name (lower-cased) -> type (undefined: a column of unknown type); undefined: unknown columns. */
export type Columns = Map<string, string | undefined> | undefined;

export interface Source {
  /** The alias (or bare table name), lower-cased; undefined for an unaliased subquery. */
  alias: string | undefined;
  columns: Columns;
}

export type Scope = Source[];

export interface Typer {
  /** Columns of a table in the catalog, by BigQuery type name; undefined when unknown. */
  tableColumns?: (dataset: string | undefined, table: string) => { name: string; type: string; mode?: string }[] | undefined;
  /** WITH tables visible here, lower-cased name -> their columns. */
  ctes: Map<string, Columns>;
}

const safeDuckType = (bigQueryType: string): string | undefined => {
  try {
    return duckTypeOf(bigQueryType);
  } catch {
    return undefined;
  }
};

const AGGREGATES_KEEPING_TYPE = new Set(['SUM', 'MIN', 'MAX', 'ANY_VALUE', 'AVG']);

/** The type of an expression, as far as it is known from the scopes (innermost last). */
export function typeOf(n: N, scopes: Scope[]): string | undefined {
  switch (n.type) {
    case 'paren_expr':
      return typeOf(n.expr, scopes);
    case 'numeric_literal':
      return /^BIG/i.test(String(n.numericKw?.text)) ? undefined : 'DECIMAL(38,9)';
    case 'number_literal':
      return /^0x/i.test(String(n.text)) || !/[.eE]/.test(String(n.text)) ? 'BIGINT' : 'DOUBLE';
    case 'string_literal':
      return 'VARCHAR';
    case 'json_literal':
      return 'JSON';
    case 'cast_expr': {
      try {
        return dataTypeOf(n.args.expr.dataType);
      } catch {
        return undefined;
      }
    }
    case 'prefix_op_expr':
      return kw(n.operator) === '-' && typeOf(n.expr, scopes)?.startsWith('DECIMAL') ? 'DECIMAL(38,9)' : undefined;
    case 'binary_expr': {
      // NUMERIC + - NUMERIC or INT64, and NUMERIC * INT64, stay DECIMAL(38,9) in DuckDB as in BigQuery.
      const op = typeof n.operator === 'string' ? n.operator : kw(n.operator);
      const [a, b] = [typeOf(n.left, scopes), typeOf(n.right, scopes)];
      const numeric = (t: string | undefined) => t === 'DECIMAL(38,9)';
      const exact = (t: string | undefined) => numeric(t) || t === 'BIGINT';
      if ((op === '+' || op === '-') && exact(a) && exact(b) && (numeric(a) || numeric(b))) return 'DECIMAL(38,9)';
      if (op === '*' && ((numeric(a) && b === 'BIGINT') || (a === 'BIGINT' && numeric(b)))) return 'DECIMAL(38,9)';
      return undefined;
    }
    case 'identifier':
      return columnType(undefined, String(n.name), scopes);
    case 'member_expr':
      if (n.object.type === 'identifier' && n.property.type === 'identifier') return columnType(String(n.object.name), String(n.property.name), scopes);
      return undefined;
    case 'func_call': {
      if (n.name.type !== 'identifier' || n.over) return undefined;
      const name = String(n.name.name).toUpperCase();
      const inner = n.args?.expr;
      const args = !inner ? [] : inner.type === 'func_args' ? items(inner.args) : items(inner);
      if (name === 'PARSE_JSON' || name === 'TO_JSON') return 'JSON';
      // Over NUMERIC these stay NUMERIC (AVG included); over other types only SUM/MIN/MAX/ANY_VALUE might, so say nothing.
      if (AGGREGATES_KEEPING_TYPE.has(name) && args.length === 1) {
        const t = typeOf(args[0], scopes);
        return t?.startsWith('DECIMAL') ? t : undefined;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function columnType(qualifier: string | undefined, column: string, scopes: Scope[]): string | undefined {
  const name = column.toLowerCase();
  for (let k = scopes.length - 1; k >= 0; k--) {
    const scope = scopes[k];
    if (qualifier !== undefined) {
      const source = scope.find((s) => s.alias === qualifier.toLowerCase());
      if (source) return source.columns?.get(name);
      continue;
    }
    // An unqualified name: known only when no source of this scope could hold it but one.
    if (scope.some((s) => s.columns === undefined)) return undefined;
    const holders = scope.filter((s) => s.columns!.has(name));
    if (holders.length === 1) return holders[0].columns!.get(name);
    if (holders.length > 1) return undefined;
  }
  return undefined;
}

/** The FROM items of a select statement (its WITH tables are added to typer.ctes first). */
export function scopeOf(select: N, typer: Typer, outer: Scope[]): Scope {
  const clauses = select.clauses as N[];
  const withClause = clauses.find((c) => c.type === 'with_clause');
  if (withClause)
    for (const cte of items(withClause.tables)) {
      if (cte.type !== 'common_table_expr') continue;
      const name = String(cte.table.name).toLowerCase();
      // A recursive WITH table reads itself: unknown while its columns are worked out.
      typer.ctes.set(name, undefined);
      typer.ctes.set(name, cte.columns ? undefined : outputColumns(cte.expr, typer, outer));
    }
  const from = clauses.find((c) => c.type === 'from_clause');
  return from ? sourcesOf(from.expr, typer, outer) : [];
}

/** The output columns of a query (paren_expr / select_stmt); undefined when not all are known. */
export function outputColumns(q: N, typer: Typer, outer: Scope[]): Columns {
  if (q.type === 'paren_expr') return outputColumns(q.expr, typer, outer);
  if (q.type !== 'select_stmt') return undefined;
  const scope = scopeOf(q, typer, outer);
  const scopes = [...outer, scope];
  const select = (q.clauses as N[]).find((c) => c.type === 'select_clause');
  if (!select || (select.modifiers as N[]).some((m) => m.type === 'select_as_struct')) return undefined;
  const columns = new Map<string, string | undefined>();
  for (const c of items(select.columns)) {
    if (c.type === 'alias') columns.set(String(c.alias.name).toLowerCase(), typeOf(c.expr, scopes));
    else if (c.type === 'identifier') columns.set(String(c.name).toLowerCase(), typeOf(c, scopes));
    else if (c.type === 'member_expr' && c.property.type === 'identifier') columns.set(String(c.property.name).toLowerCase(), typeOf(c, scopes));
    else if (c.type === 'all_columns') {
      if (scope.some((s) => s.columns === undefined)) return undefined;
      for (const s of scope) for (const [k, v] of s.columns!) columns.set(k, columns.has(k) ? undefined : v);
    } else if (c.type === 'member_expr' && c.property.type === 'all_columns' && c.object.type === 'identifier') {
      const source = scope.find((s) => s.alias === String(c.object.name).toLowerCase());
      if (!source?.columns) return undefined;
      for (const [k, v] of source.columns) columns.set(k, v);
    } else if (c.type === 'all_columns' || c.type === 'except_columns' || c.type === 'replace_columns') return undefined;
    // Other expressions are named f0_, f1_ ...: not referable by a name the query could know.
  }
  return columns;
}

function sourcesOf(n: N, typer: Typer, outer: Scope[], seen: Source[] = []): Source[] {
  const add = (source: Source) => (seen.push(source), seen);
  // t.arr where t is an earlier FROM item: an UNNEST of that row's array.
  const correlated = (x: N) => x.type === 'member_expr' && x.object.type === 'identifier' && seen.some((s) => s.alias === String(x.object.name).toLowerCase());
  switch (n.type) {
    case 'join_expr':
      sourcesOf(n.left, typer, outer, seen);
      return sourcesOf(n.right, typer, outer, seen);
    case 'alias': {
      const alias = String(n.alias.name).toLowerCase();
      const inner = n.expr as N;
      // UNNEST(...) AS x / t.arr AS x: one column, the element, of unknown type.
      if (inner.type === 'unnest_expr' || correlated(inner)) return add({ alias, columns: new Map([[alias, undefined]]) });
      if (inner.type === 'unnest_with_offset_expr') return add({ alias, columns: undefined });
      return add({ alias, columns: itemColumns(inner, typer, outer) });
    }
    case 'paren_expr':
      if (n.expr.type === 'select_stmt' || n.expr.type === 'compound_select_stmt') return add({ alias: undefined, columns: itemColumns(n, typer, outer) });
      return sourcesOf(n.expr, typer, outer, seen);
    default: {
      const columns = n.type === 'unnest_expr' || n.type === 'unnest_with_offset_expr' || correlated(n) ? undefined : itemColumns(n, typer, outer);
      const last =
        n.type === 'identifier' ? String(n.name) : n.type === 'member_expr' && n.property.type === 'identifier' ? String(n.property.name) : undefined;
      return add({ alias: last?.toLowerCase(), columns });
    }
  }
}

/** The columns of one FROM item without its alias. */
function itemColumns(n: N, typer: Typer, outer: Scope[]): Columns {
  if (n.type === 'paren_expr' || n.type === 'select_stmt') return outputColumns(n, typer, outer);
  if (n.type === 'identifier' && typer.ctes.has(String(n.name).toLowerCase())) return typer.ctes.get(String(n.name).toLowerCase());
  const parts = pathOf(n);
  if (!parts || !typer.tableColumns) return undefined;
  const flat = parts.flatMap((p) => p.split('.'));
  if (flat.length > 3) return undefined;
  const fields = typer.tableColumns(flat.length >= 2 ? flat[flat.length - 2] : undefined, flat[flat.length - 1]);
  if (!fields) return undefined;
  return new Map(fields.map((f) => [f.name.toLowerCase(), f.mode?.toUpperCase() === 'REPEATED' ? undefined : safeDuckType(f.type)]));
}

function pathOf(n: N): string[] | undefined {
  if (n.type === 'identifier') return [String(n.name)];
  if (n.type === 'bigquery_quoted_member_expr') return pathOf(n.expr);
  if (n.type === 'member_expr' && n.property.type === 'identifier') {
    const object = pathOf(n.object);
    return object && [...object, String(n.property.name)];
  }
  return undefined;
}
