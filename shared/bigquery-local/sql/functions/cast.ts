/**
 * CAST / SAFE_CAST with BigQuery's conversions where DuckDB's differ: FLOAT64 -> INT64 rounds half
 * away from zero (DuckDB rounds half to even), STRING -> INT64 accepts only integer text ('1.5' is
 * an error, DuckDB rounds it), FLOAT64 -> STRING prints 3.0 as '3', STRING <-> BYTES is UTF-8. The source type is not known
 * while translating, so the checks are on typeof(x), which DuckDB folds per column type.
 */
import { UnsupportedLocallyError } from '../../errors';
import type { Emitter } from '../emit';
import { kw, type N } from '../node';
import { dataTypeOf } from '../types';
import { arity, type Handler } from './call';

const IS_FLOAT = (x: string) => `typeof(${x}) IN ('DOUBLE', 'FLOAT')`;
const IS_STRING = (x: string) => `typeof(${x}) = 'VARCHAR'`;

/** x (DuckDB text) converted to the DuckDB type, BigQuery's way; safe: NULL instead of an error. */
export function convert(x: string, duckType: string, safe: boolean): string {
  const cast = safe ? 'TRY_CAST' : 'CAST';
  if (duckType === 'BIGINT') {
    const bad = safe ? 'NULL' : `error('Bad int64 value: ' || CAST(${x} AS VARCHAR))`;
    return (
      `(CASE WHEN ${IS_FLOAT(x)} THEN ${cast}(${cast}(CAST(${x} AS VARCHAR) AS DECIMAL(38,9)) AS BIGINT)` +
      ` WHEN ${IS_STRING(x)} AND NOT regexp_full_match(trim(CAST(${x} AS VARCHAR)), '[+-]?(\\d+|0[xX][0-9a-fA-F]+)') THEN ${bad}` +
      ` ELSE ${cast}(${x} AS BIGINT) END)`
    );
  }
  if (duckType === 'VARCHAR')
    return (
      `(CASE WHEN ${IS_FLOAT(x)} THEN regexp_replace(CAST(${x} AS VARCHAR), '\\.0$', '')` +
      // NUMERIC prints without trailing zeros: 1.5, not 1.500000000.
      ` WHEN typeof(${x}) LIKE 'DECIMAL%' THEN regexp_replace(regexp_replace(CAST(${x} AS VARCHAR), '(\\.\\d*?)0+$', '\\1'), '\\.$', '')` +
      // BYTES -> STRING decodes UTF-8 (DuckDB's cast writes \xAA escapes); invalid UTF-8 is an error.
      ` WHEN typeof(${x}) = 'BLOB' THEN ${safe ? 'try(' : ''}decode(CAST(${x} AS BLOB))${safe ? ')' : ''}` +
      ` ELSE CAST(${x} AS VARCHAR) END)`
    );
  // STRING -> BYTES encodes UTF-8 (DuckDB's cast reads \xAA escapes and refuses other non-ASCII text).
  if (duckType === 'BLOB') return `(CASE WHEN typeof(${x}) = 'VARCHAR' THEN encode(CAST(${x} AS VARCHAR)) ELSE ${cast}(${x} AS BLOB) END)`;
  return `${cast}(${x} AS ${duckType})`;
}

export function castCall(e: Emitter, n: N): string {
  const safe = kw(n.castKw) === 'SAFE_CAST';
  const arg = n.args.expr as N;
  if (arg.format) throw new UnsupportedLocallyError('CAST ... FORMAT');
  const type = dataTypeOf(arg.dataType);
  if (/^(STRUCT|.*\[\])/.test(type)) throw new UnsupportedLocallyError(`CAST to ${type}`);
  const source = arg.expr as N;
  // Literal numbers: computed here, which also keeps the SQL short.
  const negated = source.type === 'prefix_op_expr' && kw(source.operator) === '-' && source.expr.type === 'number_literal';
  if (type === 'BIGINT' && (source.type === 'number_literal' || negated)) {
    const v = negated ? -Number(source.expr.text) : Number(source.text);
    return String(Math.sign(v) * Math.round(Math.abs(v)));
  }
  return convert(e.node(source), type, safe);
}

export const CAST_FUNCTIONS: Record<string, Handler> = {
  // Conversion functions on JSON values: INT64(json) and the like (STRING(json) errors on non-strings in BigQuery).
  INT64: (c) => (arity(c, 1), `CAST(json_extract_string(${c.sql(0)}, '$') AS BIGINT)`),
  FLOAT64: (c) => (arity(c, 1), `CAST(json_extract_string(${c.sql(0)}, '$') AS DOUBLE)`),
  BOOL: (c) => (arity(c, 1), `CAST(json_extract_string(${c.sql(0)}, '$') AS BOOLEAN)`),
  STRING: (c) => (
    arity(c, 1),
    `(CASE WHEN json_type(${c.sql(0)}) = 'VARCHAR' THEN json_extract_string(${c.sql(0)}, '$') ELSE error('STRING() needs a JSON string') END)`
  ),
};
