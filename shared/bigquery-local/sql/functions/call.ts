/** What a function handler gets: the call's arguments (nodes, and their DuckDB text on demand). */
import { UnsupportedLocallyError } from '../../errors';
import type { Emitter } from '../emit';
import { kw, type N } from '../node';

export interface Call {
  /** Upper-cased BigQuery name, without SAFE. */
  name: string;
  args: N[];
  e: Emitter;
  /** The func_args node (DISTINCT, IGNORE NULLS, ORDER BY, LIMIT), if any. */
  modifiers: N | undefined;
  /** Whether the call has an OVER clause. */
  windowed: boolean;
  /** The OVER clause's DuckDB text, if any. */
  overSql?: string;
  /** Set by a handler that wrote the OVER clause itself (after each aggregate of an expression). */
  overPlaced?: boolean;
  /** DuckDB text of argument i. */
  sql(i: number): string;
}

export type Handler = (c: Call) => string;

export function arity(c: Call, min: number, max = min): void {
  if (c.args.length < min || c.args.length > max)
    throw new SyntaxError(`${c.name} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${c.args.length}`);
}

/** A handler that renames and checks the argument count. */
export const renamed =
  (to: string, min: number, max = min): Handler =>
  (c) => {
    arity(c, min, max);
    return `${to}(${c.args.map((_, i) => c.sql(i)).join(', ')})`;
  };

/** A date part argument as written: HOUR, WEEK, WEEK(MONDAY), ISOWEEK ... */
export function partOf(c: Call, i: number): string {
  const a = c.args[i];
  if (!a) throw new SyntaxError(`${c.name}: missing date part`);
  if (a.type === 'identifier') return String(a.name).toUpperCase();
  if (a.type === 'interval_unit') return kw(a.unitKw);
  if (a.type === 'keyword') return kw(a);
  if (a.type === 'week_expr') return `WEEK(${kw(a.args.expr)})`;
  if (a.type === 'func_call' && a.name.type === 'identifier' && String(a.name.name).toUpperCase() === 'WEEK')
    return `WEEK(${String(a.args.expr.args.items[0].name).toUpperCase()})`;
  throw new UnsupportedLocallyError(`${c.name} with a date part ${a.type}`);
}

/** The value of a string literal argument, or undefined. */
export const literalString = (c: Call, i: number): string | undefined => (c.args[i]?.type === 'string_literal' ? String(c.args[i].value) : undefined);
