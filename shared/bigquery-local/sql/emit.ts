/**
 * The walk over the sql-parser-cst tree that writes DuckDB SQL. Only the node types listed here are
 * known; any other is refused ("unsupported locally: <node type>") rather than passed through.
 * Table references and UNNEST in FROM are in emit-from.ts, function calls in functions/.
 */
import { UnsupportedLocallyError } from '../errors';
import { quoteIdent, quoteString } from './duckdb';
import { emitFrom } from './emit-from';
import { emitCall } from './functions';
import { childrenOf, items, kw, pathParts, take, type N } from './node';
import type { Parsed } from './parse';
import { parseReplaceList } from './parse';
import { bytesOf, intervalLiteral, typedLiteral } from './literals';
import { dataTypeOf } from './types';
import { scopeOf, typeOf, type Scope, type Typer } from './typing';

export interface TranslateOptions {
  /** Called for every table path, e.g. to check the dataset exists. */
  onTable?: (dataset: string | undefined, table: string) => void;
  /** A table's columns with their BigQuery types (the catalog's schema), to type column references; undefined when unknown. */
  tableColumns?: Typer['tableColumns'];
}

/** Nodes written as their children in source order, separated by spaces (keywords as written). */
const GENERIC = new Set([
  'select_stmt',
  'from_clause',
  'where_clause',
  'group_by_clause',
  'group_by_rollup',
  'having_clause',
  'qualify_clause',
  'partition_by_clause',
  'sort_direction_asc',
  'sort_direction_desc',
  'limit_clause',
  'window_clause',
  'frame_clause',
  'frame_between',
  'frame_bound_preceding',
  'frame_bound_following',
  'frame_unbounded',
  'frame_bound_current_row',
  'case_expr',
  'case_when',
  'case_else',
  'between_expr',
  'with_clause',
  'common_table_expr',
  'join_on_specification',
  'join_using_specification',
  'select_distinct',
  'select_all',
  'replace_columns',
]);

const JSON_FUNCTIONS = new Set(['PARSE_JSON', 'JSON_QUERY', 'JSON_EXTRACT', 'TO_JSON', 'JSON_OBJECT', 'JSON_ARRAY']);
/** Whether an expression is known to be JSON while translating (literals, JSON functions, members of those). */
const isJson = (n: N): boolean =>
  n.type === 'json_literal' ||
  (n.type === 'paren_expr' && isJson(n.expr)) ||
  (n.type === 'member_expr' && isJson(n.object)) ||
  (n.type === 'func_call' && n.name.type === 'identifier' && JSON_FUNCTIONS.has(String(n.name.name).toUpperCase()));

/** Select items that name their column themselves (paths are checked by isPath). */
const NAMED_COLUMNS = new Set(['alias', 'identifier', 'all_columns', 'except_columns', 'replace_columns', 'bigquery_quoted_member_expr']);
const isPath = (c: N): boolean =>
  c.type === 'identifier' || (c.type === 'member_expr' && (c.property.type === 'identifier' || c.property.type === 'all_columns') && isPath(c.object));

const SET_OPERATORS: Record<string, string> = {
  'UNION ALL': 'UNION ALL',
  'UNION DISTINCT': 'UNION',
  'INTERSECT DISTINCT': 'INTERSECT',
  'EXCEPT DISTINCT': 'EXCEPT',
};

export class Emitter {
  readonly parameters: string[] = [];
  /** Names defined by WITH: unqualified references to them are not tables. */
  readonly cteNames = new Set<string>();
  private ids = 0;
  /** FROM items of the SELECTs being written, innermost last. */
  private readonly scopes: Scope[] = [];
  private readonly typer: Typer;

  /** A fresh name for a generated subquery alias. */
  nextId(): number {
    return ++this.ids;
  }

  constructor(
    readonly parsed: Parsed,
    readonly options: TranslateOptions,
  ) {
    this.typer = { tableColumns: options.tableColumns, ctes: new Map() };
  }

  /** The DuckDB type of an expression where it is known while translating (see typing.ts), else undefined. */
  typeOf(n: N): string | undefined {
    return typeOf(n, this.scopes);
  }

  /** Writes one node. */
  node(n: N): string {
    switch (n.type) {
      case 'keyword':
        return String(n.text).toUpperCase();
      case 'list_expr':
        return (n.items as N[]).map((x) => this.node(x)).join(', ');
      case 'paren_expr':
        return `(${this.node(n.expr)})`;
      case 'identifier':
        return this.ident(n);
      case 'parameter':
        return this.parameter(n);
      case 'number_literal':
        // BigQuery: a literal with a point or an exponent is FLOAT64; DuckDB would make 0.01 a DECIMAL.
        if (/^0x/i.test(String(n.text))) return BigInt(String(n.text)).toString();
        return /[.eE]/.test(String(n.text)) ? `CAST(${n.text} AS DOUBLE)` : String(n.text);
      case 'string_literal':
        return quoteString(String(n.value));
      case 'blob_literal':
        return `unhex('${bytesOf(String(n.text)).toString('hex')}')`;
      case 'boolean_literal':
        return n.value ? 'TRUE' : 'FALSE';
      case 'null_literal':
        return 'NULL';
      case 'date_literal':
      case 'timestamp_literal':
      case 'datetime_literal':
      case 'time_literal':
      case 'numeric_literal':
      case 'json_literal':
        return typedLiteral(n);
      case 'interval_literal':
        return intervalLiteral(n, (v) => this.node(v));
      case 'select_clause':
        return this.selectClause(n);
      case 'compound_select_stmt':
        return this.compound(n);
      case 'order_by_clause':
        if (n.withRollupKw) throw new UnsupportedLocallyError('ORDER BY ... WITH ROLLUP');
        return `ORDER BY ${items(n.specifications)
          .map((s) => this.sortSpec(s))
          .join(', ')}`;
      case 'sort_specification':
        return this.sortSpec(n);
      case 'window_definition':
        return childrenOf(n)
          .map((c) => this.node(c))
          .join(' ');
      case 'named_window':
        return `${this.node(n.name)} AS ${this.node(n.window)}`;
      case 'all_columns':
        return '*';
      case 'except_columns':
        return this.exceptColumns(n);
      case 'alias':
        return this.alias(n);
      case 'member_expr':
        return this.member(n);
      case 'bigquery_quoted_member_expr':
        return this.quotedPath(n);
      case 'binary_expr':
        return this.binary(n);
      case 'prefix_op_expr':
        return kw(n.operator) === '-' ? `-${this.node(n.expr)}` : `${kw(n.operator)} ${this.node(n.expr)}`;
      case 'postfix_op_expr':
        return `${this.node(n.expr)} ${kw(n.operator)}`;
      case 'func_call':
      case 'cast_expr':
      case 'extract_expr':
        return emitCall(this, n);
      case 'array_expr':
        return `[${items(n.expr)
          .map((x) => this.node(x))
          .join(', ')}]`;
      case 'typed_expr':
        return this.typed(n);
      case 'struct_expr':
        return this.struct(items(n.expr), undefined);
      case 'from_clause':
        return `FROM ${emitFrom(this, n.expr)}`;
      case 'common_table_expr':
        this.cteNames.add(String(n.table.name).toLowerCase());
        return `${this.node(n.table)} AS ${this.node(n.expr)}`;
      case 'tablesample_expr':
        throw new UnsupportedLocallyError('TABLESAMPLE');
      case 'pivot_expr':
      case 'unpivot_expr':
        throw new UnsupportedLocallyError(n.type === 'pivot_expr' ? 'PIVOT' : 'UNPIVOT');
      case 'select_stmt': {
        this.scopes.push(scopeOf(n, this.typer, this.scopes));
        try {
          return childrenOf(n)
            .map((c) => this.node(c))
            .join(' ');
        } finally {
          this.scopes.pop();
        }
      }
      case 'variable':
        throw new UnsupportedLocallyError('system variables');
      case 'select_as_value':
        throw new UnsupportedLocallyError('SELECT AS VALUE');
      default:
        if (GENERIC.has(n.type))
          return childrenOf(n)
            .map((c) => this.node(c))
            .join(' ');
        throw new UnsupportedLocallyError(n.type.replace(/_/g, ' '));
    }
  }

  ident(n: N): string {
    const text = String(n.text);
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : quoteIdent(String(n.name));
  }

  private parameter(n: N): string {
    const text = String(n.text);
    if (text === '?') return '?';
    const name = text.slice(1).replace(/^`|`$/g, '');
    if (!this.parameters.includes(name)) this.parameters.push(name);
    return `$${name}`;
  }

  /** Unnamed result columns are f0_, f1_ ... as in BigQuery (DuckDB would name them after the expression). */
  private selectClause(n: N): string {
    // SELECT AS STRUCT a, b: one STRUCT column (as in ARRAY(SELECT AS STRUCT ...)).
    const asStruct = (n.modifiers as N[]).some((m) => m.type === 'select_as_struct');
    const modifiers = (n.modifiers as N[]).filter((m) => m.type !== 'select_as_struct').map((m) => this.node(m));
    if (asStruct) {
      if (
        items(n.columns).some((c) => !['alias', 'identifier', 'member_expr'].includes(c.type) || (c.type === 'member_expr' && c.property.type !== 'identifier'))
      )
        throw new UnsupportedLocallyError('SELECT AS STRUCT with * or unnamed columns');
      return ['SELECT', ...modifiers, this.struct(items(n.columns), undefined)].join(' ');
    }
    let anonymous = 0;
    const columns = items(n.columns).map((c) => (NAMED_COLUMNS.has(c.type) || isPath(c) ? this.node(c) : `${this.node(c)} AS f${anonymous++}_`));
    return ['SELECT', ...modifiers, columns.join(', ')].join(' ');
  }

  private compound(n: N): string {
    const op = kw(n.operator);
    const duck = SET_OPERATORS[op];
    if (!duck) throw new UnsupportedLocallyError(`${op} (BigQuery needs ALL or DISTINCT)`);
    return `${this.node(n.left)} ${duck} ${this.node(n.right)}`;
  }

  /** BigQuery sorts NULLs first ascending and last descending; DuckDB the other way round, so always say it. */
  private sortSpec(n: N): string {
    const spec = n.type === 'sort_specification';
    const desc = spec && n.direction?.type === 'sort_direction_desc';
    const nulls = take(this.parsed.nulls, n.range[1]) ?? (desc ? 'NULLS LAST' : 'NULLS FIRST');
    return `${this.node(spec ? n.expr : n)}${desc ? ' DESC' : ''} ${nulls}`;
  }

  private exceptColumns(n: N): string {
    const out = `${this.node(n.expr)} EXCLUDE ${this.node(n.columns)}`;
    const replace = take(this.parsed.replaces, n.range[1]);
    if (!replace) return out;
    const list = parseReplaceList(replace);
    const replaced = items(list.columns.expr).map((c) => this.node(c));
    // DuckDB allows EXCLUDE and REPLACE together: * EXCLUDE (a) REPLACE (x AS b).
    return `${out} REPLACE (${replaced.join(', ')})`;
  }

  private alias(n: N): string {
    if (n.columnAliases) throw new UnsupportedLocallyError('column aliases on a table alias');
    return `${this.node(n.expr)} AS ${this.ident(n.alias)}`;
  }

  private member(n: N): string {
    const p = n.property as N;
    if (p.type === 'array_subscript' && isJson(n.object) && p.expr.type !== 'string_literal' && p.expr.type !== 'array_subscript_specifier')
      // json[n]: 0-based element of a JSON array (NULL when absent), as JSON.
      return `(${this.node(n.object)} -> ('$[' || (${this.node(p.expr)}) || ']'))`;
    if (p.type === 'array_subscript') return this.subscript(this.node(n.object), p.expr);
    if (p.type === 'all_columns') return `${this.node(n.object)}.*`;
    if (p.type === 'identifier') return `${this.node(n.object)}.${this.ident(p)}`;
    throw new UnsupportedLocallyError(`member access ${p.type}`);
  }

  /** arr[OFFSET(n)] / [SAFE_OFFSET(n)] / [ORDINAL(n)] / [SAFE_ORDINAL(n)] / [n]; DuckDB lists are 1-based. */
  private subscript(list: string, spec: N): string {
    // s['key']: a STRUCT field or a JSON member by name (DuckDB spells both the same way).
    if (spec.type === 'string_literal') return `${list}[${this.node(spec)}]`;
    let kind = 'OFFSET';
    let index: N = spec;
    if (spec.type === 'array_subscript_specifier') {
      kind = kw(spec.specifierKw);
      index = spec.args.expr;
    }
    if (!['OFFSET', 'SAFE_OFFSET', 'ORDINAL', 'SAFE_ORDINAL'].includes(kind)) throw new UnsupportedLocallyError(`array subscript ${kind}`);
    const i = this.node(index);
    const one = kind.endsWith('OFFSET') ? `(${i}) + 1` : `(${i})`;
    if (kind.startsWith('SAFE_')) return `(CASE WHEN ${one} >= 1 THEN ${list}[${one}] END)`;
    return `(CASE WHEN ${one} BETWEEN 1 AND len(${list}) THEN ${list}[${one}] ELSE error('Array index ' || (${i}) || ' is out of bounds') END)`;
  }

  /** `a.b.c` in backquotes outside FROM: column paths (a 3-part path drops the project, as before). */
  private quotedPath(n: N): string {
    const parts = pathParts(n);
    return (parts.length >= 3 ? parts.slice(1) : parts).map(quoteIdent).join('.');
  }

  private binary(n: N): string {
    const op = typeof n.operator === 'string' ? n.operator : kw(n.operator);
    const right = n.right as N;
    if ((op === 'IN' || op === 'NOT IN') && right.type === 'unnest_expr') {
      // x IN UNNEST(arr): DuckDB binds UNNEST only in a SELECT list.
      return `${this.node(n.left)} ${op} (SELECT UNNEST(${this.node(right.expr.expr)}))`;
    }
    const [a, b] = [this.node(n.left), this.node(right)];
    // BigQuery errors on division by zero (DuckDB answers Infinity or NULL).
    if (op === '/' && !(right.type === 'number_literal' && Number(right.text) !== 0))
      return `(CASE WHEN ${b} = 0 THEN error('division by zero: ' || (${a}) || ' / ' || (${b})) ELSE ${a} / ${b} END)`;
    // BigQuery's LIKE escapes with a backslash; DuckDB's has no escape character unless told.
    if (op === 'LIKE' || op === 'NOT LIKE') return `${a} ${op} ${b} ESCAPE '\\'`;
    return `${a} ${op} ${b}`;
  }

  private typed(n: N): string {
    const type = n.dataType as N;
    const name = kw(type.typeKw ?? type.name);
    if (name === 'STRUCT') {
      const fields = items(type.params?.params).map((p) => ({ name: String(p.name.name), type: dataTypeOf(p.dataType) }));
      return this.struct(items(n.expr.expr), fields.length ? fields : undefined);
    }
    if (name === 'ARRAY') return `CAST(${this.node(n.expr)} AS ${dataTypeOf(type)})`;
    throw new UnsupportedLocallyError(`typed expression ${name}`);
  }

  /** STRUCT(x AS a, y), (x, y) and STRUCT<a INT64>(x): unnamed fields are _field_N locally. */
  struct(values: N[], fields: { name: string; type: string }[] | undefined): string {
    const packed = values.map((v, k) => {
      const name =
        fields?.[k]?.name ??
        (v.type === 'alias' ? String(v.alias.name) : v.type === 'identifier' ? String(v.name) : isPath(v) ? String(v.property.name) : `_field_${k + 1}`);
      const expr = this.node(v.type === 'alias' ? v.expr : v);
      return `${quoteIdent(name)} := ${fields?.[k] ? `CAST(${expr} AS ${fields[k].type})` : expr}`;
    });
    return `struct_pack(${packed.join(', ')})`;
  }
}
