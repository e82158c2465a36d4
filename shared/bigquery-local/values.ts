/**
 * BigQuery values on the wire <-> DuckDB values: a table's schema as BigQuery stores it, and insertAll's
 * JSON values checked against a column (nested REPEATED/RECORD values: values/nested.ts). Query results
 * in BigQuery's {f: [{v}]} format are values/result.ts (re-exported here).
 */
import { DuckDBDateValue, DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBTimeValue, type DuckDBValue } from '@duckdb/node-api';
import { UnsupportedLocallyError } from './errors';

export interface TableField {
  name: string;
  type: string;
  mode?: string;
  description?: string;
  fields?: TableField[];
}

/** BigQuery reports column types by their legacy names: INT64 comes back as INTEGER. */
const CANONICAL: Record<string, string> = {
  INT64: 'INTEGER',
  INTEGER: 'INTEGER',
  FLOAT64: 'FLOAT',
  FLOAT: 'FLOAT',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  STRING: 'STRING',
  BYTES: 'BYTES',
  NUMERIC: 'NUMERIC',
  DECIMAL: 'NUMERIC',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  JSON: 'JSON',
  // BIGNUMERIC is stored as DECIMAL(38,9) locally (store/table-schema.ts): values beyond it are refused.
  BIGNUMERIC: 'BIGNUMERIC',
  BIGDECIMAL: 'BIGNUMERIC',
  // https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema: STRUCT is the same as RECORD.
  RECORD: 'RECORD',
  STRUCT: 'RECORD',
};

export function canonicalType(type: string): string {
  const canonical = CANONICAL[type.toUpperCase()];
  if (!canonical) throw new UnsupportedLocallyError(`column type ${type} (the local endpoint stores ${Object.keys(CANONICAL).join(', ')})`);
  return canonical;
}

/**
 * A schema as BigQuery stores it: canonical type names (STRUCT -> RECORD), NULLABLE by default,
 * RECORDs with their sub-fields in the order and case given, at most 15 levels of RECORD
 * (https://cloud.google.com/bigquery/docs/nested-repeated#limitations).
 */
export function canonicalFields(fields: TableField[] | undefined, depth = 0, parent = ''): TableField[] {
  const seen = new Set<string>();
  return (fields ?? []).map((f) => {
    if (!f || typeof f.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(f.name))
      throw new InvalidRequest(
        `Invalid field name "${f?.name}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`,
      );
    const path = parent ? `${parent}.${f.name}` : f.name;
    if (seen.has(f.name.toLowerCase())) throw new InvalidRequest(`Field ${path} already exists in schema`);
    seen.add(f.name.toLowerCase());
    const mode = (f.mode ?? 'NULLABLE').toUpperCase();
    if (mode !== 'NULLABLE' && mode !== 'REQUIRED' && mode !== 'REPEATED') throw new InvalidRequest(`Invalid mode ${f.mode} for field ${path}`);
    const out: TableField = { name: f.name, type: canonicalType(String(f.type ?? 'STRING')), mode };
    if (f.description !== undefined) out.description = f.description;
    if (out.type === 'RECORD') {
      if (!f.fields?.length) throw new InvalidRequest(`Field ${path} is type RECORD but has no schema`);
      if (depth >= 14) throw new InvalidRequest(`Field ${path}: a schema cannot contain more than 15 levels of nested RECORD types`);
      out.fields = canonicalFields(f.fields, depth + 1, path);
    } else if (f.fields?.length) throw new InvalidRequest(`Field ${path} is type ${out.type} but has sub-fields; only RECORD fields have a schema`);
    return out;
  });
}

/** A 400 invalid request in BigQuery's words. */
export class InvalidRequest extends Error {
  override readonly name = 'InvalidRequest';
}

// ---------------------------------------------------------------------------------------------
// insertAll: JSON values -> values for the DuckDB appender

export type Cell = null | string | bigint | number | DuckDBValue;

export interface CellError {
  location: string;
  message: string;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const DATE_TIME = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?)?\s*(Z|z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$/;

/** The common case, `Date.toISOString()` output: Date.parse is exact for it. */
const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Microseconds since the epoch of a BigQuery timestamp string, or undefined. */
export function parseTimestampMicros(text: string, allowZone = true): bigint | undefined {
  if (allowZone && ISO_MILLIS.test(text)) {
    const ms = Date.parse(text);
    // Date.parse rolls 2024-02-30 over to March; the slow path below refuses it.
    if (!Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text.slice(0, 10)) return BigInt(ms) * 1000n;
  }
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  if (zone && !allowZone) return undefined;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return undefined;
  let micros = BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
  if (zone && zone.toUpperCase() !== 'Z' && zone.toUpperCase() !== 'UTC') {
    const zm = /^([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(zone)!;
    const offset = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000_000;
    micros -= BigInt(zm[1] === '-' ? -offset : offset);
  }
  return micros;
}

/** HH:MM[:SS[.ffffff]] as its parts and microseconds since midnight, ranges unchecked; undefined when malformed. */
export function parseTimeOfDay(text: string): { hours: number; minutes: number; seconds: number; micros: bigint } | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text.trim());
  if (!m) return undefined;
  const [hours, minutes, seconds] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { hours, minutes, seconds, micros: BigInt(hours * 3600 + minutes * 60 + seconds) * 1_000_000n + BigInt(((m[4] ?? '') + '000000').slice(0, 6)) };
}

function invalid(field: TableField, kind: string, value: unknown): CellError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return { location: field.name, message: `Cannot convert value to ${kind} (bad value): ${shown} (field ${field.name}).` };
}

/** Checks one JSON value against its column; returns the DuckDB value or an error in BigQuery's words. */
export function coerceCell(field: TableField, value: unknown): Cell | CellError {
  if (value === null || value === undefined) {
    return field.mode === 'REQUIRED' ? { location: field.name, message: `Missing required field: ${field.name}.` } : null;
  }
  switch (field.type) {
    case 'STRING':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return invalid(field, 'string', value);
    case 'INTEGER': {
      let n: bigint | undefined;
      if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
      else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
      if (n === undefined || n < INT64_MIN || n > INT64_MAX) return invalid(field, 'integer', value);
      return n;
    }
    case 'FLOAT': {
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && (/^(NaN|[+-]?(Infinity|inf))$/i.test(value.trim()) || !Number.isNaN(Number(value)))) {
        const t = value.trim().toLowerCase();
        return t === 'nan' ? NaN : t.endsWith('inf') || t.endsWith('infinity') ? (t.startsWith('-') ? -Infinity : Infinity) : Number(value);
      }
      return invalid(field, 'double', value);
    }
    case 'BIGNUMERIC':
      return bigNumericCell(field, value);
    case 'NUMERIC':
      if ((typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)))
        return String(value).trim();
      return invalid(field, 'numeric', value);
    case 'BOOLEAN':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      if (value === 1 || value === 0) return value === 1;
      return invalid(field, 'boolean', value);
    case 'TIMESTAMP': {
      if (typeof value === 'number' && Number.isFinite(value)) return new DuckDBTimestampTZValue(BigInt(Math.round(value * 1e6)));
      const micros = typeof value === 'string' ? parseTimestampMicros(value) : undefined;
      if (micros === undefined) {
        return {
          location: field.name,
          message: `Could not parse '${typeof value === 'string' ? value : JSON.stringify(value)}' as a timestamp. Required format is YYYY-MM-DD HH:MM[:SS[.SSSSSS]] (field ${field.name}).`,
        };
      }
      return new DuckDBTimestampTZValue(micros);
    }
    case 'DATETIME': {
      const micros = typeof value === 'string' ? parseTimestampMicros(value, false) : undefined;
      if (micros === undefined) return invalid(field, 'datetime', value);
      return new DuckDBTimestampValue(micros);
    }
    case 'DATE': {
      const m = typeof value === 'string' ? /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value.trim()) : null;
      const micros = m ? parseTimestampMicros(value as string, false) : undefined;
      if (micros === undefined) return invalid(field, 'date', value);
      return new DuckDBDateValue(Number(micros / 86_400_000_000n));
    }
    case 'TIME': {
      const time = typeof value === 'string' ? parseTimeOfDay(value) : undefined;
      if (!time || time.hours > 23 || time.minutes > 59 || time.seconds > 59) return invalid(field, 'time', value);
      return new DuckDBTimeValue(time.micros);
    }
    case 'JSON':
      // On the wire a JSON column is JSON-encoded text; other JSON values are taken as they are.
      if (typeof value === 'string') {
        try {
          JSON.parse(value);
          return value;
        } catch {
          return { location: field.name, message: `Invalid JSON value for field ${field.name}: ${value.length > 60 ? `${value.slice(0, 60)}...` : value}` };
        }
      }
      return JSON.stringify(value);
    case 'BYTES':
      if (typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return Buffer.from(value, 'base64').toString('base64');
      return invalid(field, 'bytes', value);
    default:
      return invalid(field, field.type.toLowerCase(), value);
  }
}

/**
 * BIGNUMERIC: stored locally as DECIMAL(38,9), the same as NUMERIC, so a value with more than 29
 * integer digits or more than 9 decimals (which BigQuery's BIGNUMERIC keeps: 38 decimals, ~76 digits)
 * is refused in that row's insertErrors as unsupported locally rather than rounded or truncated.
 */
function bigNumericCell(field: TableField, value: unknown): Cell | CellError {
  const numeric = coerceCell({ ...field, type: 'NUMERIC' }, value);
  if (typeof numeric !== 'string') return numeric;
  const m = /^[+-]?0*(\d*)(?:\.(\d*?)0*)?$/.exec(typeof value === 'number' ? value.toFixed(12).replace(/\.?0+$/, '') : numeric);
  if (!m || m[1].length > 29 || (m[2] ?? '').length > 9)
    return {
      location: field.name,
      message: `unsupported locally: BIGNUMERIC value ${numeric} (field ${field.name}) does not fit DECIMAL(38,9), the local store of BIGNUMERIC`,
    };
  return numeric;
}

export const isCellError = (cell: Cell | CellError): cell is CellError => cell !== null && typeof cell === 'object' && 'message' in cell && 'location' in cell;

export { encodeCell, resultField, type CellOptions, type ResultField } from './values/result';
