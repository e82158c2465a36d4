/** Literal spellings the parser does not decode as BigQuery means them, and typed literals and intervals as DuckDB writes them. */
import { UnsupportedLocallyError } from '../errors';
import { quoteString } from './duckdb';
import { kw, type N } from './node';

/** A BYTES literal's bytes from its source text: \\xHH and octal escapes are single bytes (the parser would UTF-8 encode them). */
export function bytesOf(text: string): Buffer {
  const m = /^([bBrR]+)('''|"""|'|")([\s\S]*)\2$/.exec(text);
  if (!m) throw new SyntaxError(`bad BYTES literal ${text}`);
  if (/r/i.test(m[1])) return Buffer.from(m[3], 'utf8');
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '`': 96, '?': 63 };
  const out: number[] = [];
  const body = m[3];
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      out.push(...Buffer.from(body[i], 'utf8'));
      continue;
    }
    const e = body[++i];
    if (e === 'x' || e === 'X') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      out.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else if (e in simple) out.push(simple[e]);
    else throw new SyntaxError(`unsupported escape \\${e} in BYTES literal`);
  }
  return Buffer.from(out);
}

/** DATE / TIMESTAMP / DATETIME / TIME / NUMERIC / JSON '...' literals, cast to their DuckDB types. */
export function typedLiteral(n: N): string {
  const value = String(n.string.value);
  switch (n.type) {
    case 'date_literal':
      return `CAST(${quoteString(value)} AS DATE)`;
    case 'timestamp_literal':
      return `CAST(${quoteString(value)} AS TIMESTAMPTZ)`;
    case 'datetime_literal':
      return `CAST(${quoteString(value)} AS TIMESTAMP)`;
    case 'time_literal':
      return `CAST(${quoteString(value)} AS TIME)`;
    case 'numeric_literal':
      if (/^BIG/i.test(String(n.numericKw?.text))) throw new UnsupportedLocallyError('BIGNUMERIC');
      return `CAST(${quoteString(value)} AS DECIMAL(38,9))`;
    default:
      return `CAST(${quoteString(value)} AS JSON)`;
  }
}

/** INTERVAL n unit: a literal amount is written as a literal interval (see functions/date-time.ts). */
export function intervalLiteral(n: N, emit: (expr: N) => string): string {
  const unit = kw(n.unit?.unitKw);
  const units: Record<string, string> = {
    MICROSECOND: 'microseconds',
    MILLISECOND: 'milliseconds',
    SECOND: 'seconds',
    MINUTE: 'minutes',
    HOUR: 'hours',
    DAY: 'days',
    WEEK: 'days',
    MONTH: 'months',
    QUARTER: 'months',
    YEAR: 'years',
  };
  const factor = unit === 'WEEK' ? 7 : unit === 'QUARTER' ? 3 : 1;
  if (!units[unit]) throw new UnsupportedLocallyError(`INTERVAL ... ${unit || 'without a single unit'}`);
  const v = n.value as N;
  const literal =
    v.type === 'number_literal'
      ? Number(v.text)
      : v.type === 'prefix_op_expr' && v.expr.type === 'number_literal' && kw(v.operator) === '-'
        ? -Number(v.expr.text)
        : undefined;
  if (literal !== undefined && Number.isInteger(literal)) return `INTERVAL '${literal * factor} ${units[unit]}'`;
  return `to_${units[unit]}(CAST((${emit(v)}) * ${factor} AS BIGINT))`;
}
