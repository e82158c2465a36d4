import { UnsupportedLocallyError } from '../errors';
/** The loose view of sql-parser-cst nodes the emitter walks (the library's union types are too wide to narrow usefully here). */
export interface N {
  type: string;
  range: [number, number];
  [key: string]: any;
}

/** Child nodes of a node in source order (keys do not follow the source order). */
export function childrenOf(n: N): N[] {
  const out: N[] = [];
  for (const [key, value] of Object.entries(n)) {
    if (key === 'range') continue;
    if (Array.isArray(value)) for (const v of value) if (v && typeof v === 'object' && 'type' in v) out.push(v as N);
    if (value && typeof value === 'object' && !Array.isArray(value) && 'type' in value) out.push(value as N);
  }
  return out.sort((a, b) => a.range[0] - b.range[0]);
}

/** Upper-cased keyword text of a keyword or keyword list (e.g. UNION ALL, LEFT JOIN). */
export function kw(k: N | N[] | string | undefined): string {
  if (!k) return '';
  if (typeof k === 'string') return k.toUpperCase();
  return (Array.isArray(k) ? k : [k]).map((x) => String(x.text ?? x.name).toUpperCase()).join(' ');
}

/** The items of a list_expr, or the lone node. */
export const items = (n: N | undefined): N[] => (!n ? [] : n.type === 'list_expr' ? (n.items as N[]) : [n]);

/** Unwraps paren_expr / func_args to the argument list. */
export function argsOf(call: N): N[] {
  const inner = call.args?.expr as N | undefined;
  if (!inner) return [];
  return inner.type === 'func_args' ? items(inner.args) : items(inner);
}

/** Reads and removes a lifted form (parse.ts), so that forms no node claimed can be refused. */
export function take(map: Map<number, string>, offset: number): string | undefined {
  const value = map.get(offset);
  map.delete(offset);
  return value;
}

/** The dotted parts of an identifier path, quoted or not. */
export function pathParts(n: N): string[] {
  if (n.type === 'identifier') return [String(n.name)];
  if (n.type === 'bigquery_quoted_member_expr') return pathParts(n.expr);
  if (n.type === 'member_expr' && n.property.type === 'identifier') return [...pathParts(n.object), String(n.property.name)];
  if (n.type === 'member_expr' && n.property.type === 'all_columns') return [...pathParts(n.object), '*'];
  throw new UnsupportedLocallyError(`path ${n.type}`);
}
