/**
 * Query results and tabledata.list: DuckDB values -> BigQuery's f/v cells, and the schema BigQuery
 * would report for a DuckDB result column. REPEATED cells are [{v}, ...] (never null: a NULL array is
 * []), RECORD cells {f: [{v}, ...]} in the fields' order, scalars strings as BigQuery's REST API gives them.
 */
import { DuckDBTypeId, type DuckDBDateValue, type DuckDBTimeValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { UnsupportedLocallyError } from '../errors';

export interface ResultField {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REPEATED';
  fields?: ResultField[];
}

/** The BigQuery schema field of a DuckDB result column. */
export function resultField(name: string, type: DuckDBType): ResultField {
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    const child = (type as unknown as { valueType: DuckDBType }).valueType;
    const inner = resultField(name, child);
    if (inner.mode === 'REPEATED') throw new UnsupportedLocallyError(`query result column ${name} is an array of arrays`);
    return { ...inner, mode: 'REPEATED' };
  }
  if (type.typeId === DuckDBTypeId.STRUCT) {
    const struct = type as unknown as { entryNames: string[]; entryTypes: DuckDBType[] };
    return { name, type: 'RECORD', mode: 'NULLABLE', fields: struct.entryNames.map((n, k) => resultField(n, struct.entryTypes[k])) };
  }
  return { name, type: scalarType(type), mode: 'NULLABLE' };
}

function scalarType(type: DuckDBType): string {
  if (type.alias === 'JSON') return 'JSON';
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.SQLNULL:
      return 'INTEGER';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      return 'NUMERIC';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIME:
      return 'TIME';
    case DuckDBTypeId.TIMESTAMP:
      return 'DATETIME';
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'TIMESTAMP';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.ENUM:
    case DuckDBTypeId.INTERVAL:
      return 'STRING';
    default:
      throw new UnsupportedLocallyError(`query result type ${type.toString()}`);
  }
}

export interface CellOptions {
  /** formatOptions.useInt64Timestamp: TIMESTAMP as integer microseconds (the client asks for it). */
  int64Timestamp: boolean;
}

const pad = (n: number | bigint, width = 2) => String(n).padStart(width, '0');

function timestampMicros(value: DuckDBValue): bigint {
  const v = value as { micros?: bigint; millis?: bigint; seconds?: bigint; nanos?: bigint };
  if (v.micros !== undefined) return v.micros;
  if (v.millis !== undefined) return v.millis * 1000n;
  if (v.seconds !== undefined) return v.seconds * 1_000_000n;
  if (v.nanos !== undefined) return v.nanos / 1000n;
  throw new Error(`not a timestamp: ${String(value)}`);
}

/** 1700000000123456 -> "1700000000.123456" (BigQuery's float-seconds form, exact). */
function secondsText(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const frac = abs % 1_000_000n;
  const text = `${abs / 1_000_000n}${frac ? `.${pad(frac, 6).replace(/0+$/, '')}` : ''}`;
  return negative ? `-${text}` : text;
}

function dateText(days: number): string {
  const d = new Date(days * 86_400_000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function timeText(micros: bigint): string {
  const total = Number(micros / 1_000_000n);
  const frac = micros % 1_000_000n;
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}${frac ? `.${pad(frac, 6)}` : ''}`;
}

function datetimeText(micros: bigint): string {
  const days = Number((micros - (((micros % 86_400_000_000n) + 86_400_000_000n) % 86_400_000_000n)) / 86_400_000_000n);
  return `${dateText(days)}T${timeText(((micros % 86_400_000_000n) + 86_400_000_000n) % 86_400_000_000n)}`;
}

/** DuckDB's DECIMAL(38,9) text "12.500000000" -> "12.5", as BigQuery's REST API writes NUMERIC. */
const decimalText = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

/** One cell in BigQuery's JSON form: strings for scalars, {v} lists for arrays, {f} for records. */
export function encodeCell(field: ResultField, value: DuckDBValue, options: CellOptions): unknown {
  // A REPEATED field is never NULL in BigQuery: a NULL array is written as an empty one.
  if (value === null || value === undefined) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED') {
    const items = (value as unknown as { items: DuckDBValue[] }).items ?? [];
    return items.map((item) => ({ v: encodeCell({ ...field, mode: 'NULLABLE' }, item, options) }));
  }
  switch (field.type) {
    case 'RECORD': {
      const entries = (value as unknown as { entries: Record<string, DuckDBValue> }).entries;
      return { f: (field.fields ?? []).map((f) => ({ v: encodeCell(f, entries[f.name], options) })) };
    }
    case 'TIMESTAMP': {
      const micros = timestampMicros(value);
      return options.int64Timestamp ? micros.toString() : secondsText(micros);
    }
    case 'DATETIME':
      return datetimeText(timestampMicros(value));
    case 'DATE':
      return dateText((value as DuckDBDateValue).days);
    case 'TIME':
      return timeText((value as DuckDBTimeValue).micros);
    case 'BOOLEAN':
      return value ? 'true' : 'false';
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return decimalText(String(value));
    case 'BYTES':
      return Buffer.from((value as unknown as { bytes: Uint8Array }).bytes).toString('base64');
    case 'FLOAT': {
      const n = Number(value);
      return Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : String(n);
    }
    default:
      return typeof value === 'string' ? value : String(value);
  }
}
