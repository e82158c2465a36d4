/**
 * REPEATED and RECORD fields: insertAll's JSON values checked against a nested field and turned into
 * DuckDB LIST and STRUCT values (scalars converted by coerceCell, values.ts), and the check BigQuery
 * makes on a query's final result that no array holds a NULL.
 */
import { blobValue, DuckDBDecimalValue, listValue, structValue, type DuckDBValue } from '@duckdb/node-api';
import { coerceCell, isCellError, type Cell, type CellError, type TableField } from '../values';
import type { ResultField } from './result';

/**
 * One JSON value of a field at `path` (a.b.c for nested fields, as BigQuery names them in errors).
 * Scalars of a top-level field come back as coerceCell returns them (the appender's cells); REPEATED
 * and RECORD values as DuckDB list and struct values, with nested scalars as DuckDB values.
 */
export function coerceField(field: TableField, value: unknown, path: string, ignoreUnknownValues: boolean, nested = false): Cell | CellError {
  const at = { ...field, name: path };
  if (field.mode === 'REPEATED') {
    // BigQuery writes a NULL (or absent) REPEATED field as an empty array.
    if (value === null || value === undefined) return listValue([]);
    if (!Array.isArray(value)) return { location: path, message: `Cannot convert value to array (bad value): ${JSON.stringify(value)} (field ${path}).` };
    const items: DuckDBValue[] = [];
    for (const item of value) {
      // An array cannot contain NULL (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#array_type).
      if (item === null || item === undefined) return { location: path, message: `Array cannot have a null element; error in writing field ${path}` };
      const cell = coerceField({ ...field, mode: 'NULLABLE' }, item, path, ignoreUnknownValues, true);
      if (isCellError(cell)) return cell;
      items.push(cell);
    }
    return listValue(items);
  }
  if (Array.isArray(value)) return { location: path, message: `Array specified for non-repeated field: ${path}.` };
  if (field.type !== 'RECORD') {
    const cell = coerceCell(at, value);
    return nested && !isCellError(cell) ? nestedScalar(field.type, cell) : cell;
  }
  if (value === null || value === undefined) return coerceCell(at, value);
  if (typeof value !== 'object') return { location: path, message: `Cannot convert value to record (bad value): ${JSON.stringify(value)} (field ${path}).` };
  const json = value as Record<string, unknown>;
  const entries: Record<string, DuckDBValue> = {};
  const subFields = field.fields ?? [];
  for (const key of Object.keys(json)) {
    if (!ignoreUnknownValues && !subFields.some((f) => f.name === key || f.name.toLowerCase() === key.toLowerCase()))
      return { location: `${path}.${key}`, message: `no such field: ${path}.${key}.` };
  }
  for (const f of subFields) {
    const key = f.name in json ? f.name : Object.keys(json).find((k) => k.toLowerCase() === f.name.toLowerCase());
    const cell = coerceField(f, key === undefined ? undefined : json[key], `${path}.${f.name}`, ignoreUnknownValues, true);
    if (isCellError(cell)) return cell;
    entries[f.name] = cell;
  }
  return structValue(entries);
}

/** A scalar inside a LIST or STRUCT as the DuckDB value of its type (the appender does not cast there). */
function nestedScalar(type: string, cell: Cell): Cell {
  if (cell === null || typeof cell !== 'string') return cell;
  if (type === 'NUMERIC' || type === 'BIGNUMERIC') return new DuckDBDecimalValue(scaledDecimal(cell), 38, 9);
  if (type === 'BYTES') return blobValue(Buffer.from(cell, 'base64'));
  return cell;
}

/** "12.3456" -> 12345600000n (9 decimals), rounding half away from zero as a cast to DECIMAL(38,9) does. */
export function scaledDecimal(text: string): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole, frac = '', exp = '0'] = m;
  let digits = `${whole}${frac}`.replace(/^0+(?=\d)/, '') || '0';
  let scale = frac.length - Number(exp);
  if (scale < 9) {
    digits += '0'.repeat(9 - scale);
    scale = 9;
  }
  const cut = scale - 9;
  let scaled = BigInt(digits.slice(0, digits.length - cut) || '0');
  if (cut > 0 && digits.length - cut >= 0 && Number(digits[digits.length - cut]) >= 5) scaled += 1n;
  return sign === '-' ? -scaled : scaled;
}

/**
 * The path of the first array holding a NULL in a query's final result (BigQuery fails such a query:
 * "Array cannot have a null element; error in writing field <name>"), or undefined.
 */
export function nullElementField(fields: ResultField[], rows: DuckDBValue[][]): string | undefined {
  // Only arrays and records can hold an array: a result of scalars is not walked cell by cell.
  const nested = fields.flatMap((field, k) => (field.mode === 'REPEATED' || field.type === 'RECORD' ? [k] : []));
  if (!nested.length) return undefined;
  for (const row of rows) {
    for (const k of nested) {
      const found = nullElementIn(fields[k], row[k]);
      if (found) return found;
    }
  }
  return undefined;
}

function nullElementIn(field: ResultField, value: DuckDBValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (field.mode === 'REPEATED') {
    const items = (value as unknown as { items?: DuckDBValue[] }).items ?? [];
    for (const item of items) {
      if (item === null || item === undefined) return field.name;
      const found = nullElementIn({ ...field, mode: 'NULLABLE' }, item);
      if (found) return found;
    }
    return undefined;
  }
  if (field.type !== 'RECORD') return undefined;
  const entries = (value as unknown as { entries: Record<string, DuckDBValue> }).entries;
  for (const f of field.fields ?? []) {
    const found = nullElementIn(f, entries[f.name]);
    if (found) return found;
  }
  return undefined;
}
