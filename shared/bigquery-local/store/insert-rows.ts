/**
 * tabledata.insertAll's rows: each JSON row checked against the table's columns and turned into
 * DuckDB cells (BigQuery's per-row errors for those that do not fit), and the appender call that
 * writes a cell of each column type.
 */
import type { DuckDBAppender, DuckDBDateValue, DuckDBType, DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBTimeValue } from '@duckdb/node-api';
import { invalid } from '../errors';
import { isCellError, type Cell, type TableField } from '../values';
import { coerceField } from '../values/nested';

export interface InsertAllRequest {
  rows?: { insertId?: string; json?: unknown }[];
  skipInvalidRows?: boolean;
  ignoreUnknownValues?: boolean;
  templateSuffix?: string;
}

export interface InsertError {
  index: number;
  errors: { reason: string; location: string; debugInfo: string; message: string }[];
}

export interface RowToAppend {
  cells: Cell[];
  insertId?: string;
}

/**
 * The rows to append (one cell per column) and the errors of the others. With an invalid row and
 * no skipInvalidRows, BigQuery inserts nothing and marks the valid rows "stopped": `stopped` is set.
 */
export function checkedRows(fields: TableField[], body: InsertAllRequest): { rows: RowToAppend[]; insertErrors: InsertError[]; stopped: boolean } {
  if (body.templateSuffix) throw invalid('unsupported locally: templateSuffix (template tables)');
  const rows = body.rows;
  if (!Array.isArray(rows) || rows.length === 0) throw invalid('No rows present in the request.');
  if (rows.length > 50_000) throw invalid(`too many rows present in the request, limit: 50000 row count: ${rows.length}.`);
  const index = new Map<string, number>();
  fields.forEach((f, k) => {
    index.set(f.name, k);
    index.set(f.name.toLowerCase(), k);
  });
  const insertErrors: InsertError[] = [];
  const good: RowToAppend[] = [];
  for (let r = 0; r < rows.length; r++) {
    const json = rows[r]?.json;
    const errors: InsertError['errors'] = [];
    const cells: Cell[] = new Array(fields.length).fill(null);
    const values: unknown[] = new Array(fields.length);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      errors.push({ reason: 'invalid', location: '', debugInfo: '', message: 'Row is not a JSON object.' });
    } else {
      for (const key of Object.keys(json)) {
        const k = index.get(key) ?? index.get(key.toLowerCase());
        if (k === undefined) {
          if (!body.ignoreUnknownValues) errors.push({ reason: 'invalid', location: key, debugInfo: '', message: `no such field: ${key}.` });
        } else values[k] = (json as Record<string, unknown>)[key];
      }
      for (let k = 0; k < fields.length; k++) {
        const cell = coerceField(fields[k], values[k], fields[k].name, body.ignoreUnknownValues === true);
        if (isCellError(cell)) errors.push({ reason: 'invalid', debugInfo: '', ...cell });
        else cells[k] = cell;
      }
    }
    if (errors.length) insertErrors.push({ index: r, errors });
    else good.push({ cells, insertId: typeof rows[r].insertId === 'string' && rows[r].insertId ? rows[r].insertId : undefined });
  }
  if (insertErrors.length && !body.skipInvalidRows) {
    const bad = new Set(insertErrors.map((e) => e.index));
    for (let r = 0; r < rows.length; r++)
      if (!bad.has(r)) insertErrors.push({ index: r, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] });
    insertErrors.sort((a, b) => a.index - b.index);
    return { rows: [], insertErrors, stopped: true };
  }
  return { rows: good, insertErrors, stopped: false };
}

/** Appends the rows' cells, a row at a time, with the appender call of each column's type. */
export function appendRows(appender: DuckDBAppender, fields: TableField[], rows: RowToAppend[]): void {
  const appendCell = fields.map((f, k) => (f.mode === 'REPEATED' || f.type === 'RECORD' ? nestedAppender(appender.columnType(k)) : cellAppender(f.type)));
  for (const row of rows) {
    for (let k = 0; k < row.cells.length; k++) {
      const cell = row.cells[k];
      if (cell === null) appender.appendNull();
      else appendCell[k](appender, cell);
    }
    appender.endRow();
  }
}

/** REPEATED and RECORD columns: DuckDB list and struct values (values/nested.ts), appended as the column's type. */
const nestedAppender =
  (type: DuckDBType) =>
  (appender: DuckDBAppender, cell: NonNullable<Cell>): void =>
    appender.appendValue(cell, type);

/** The appender call for a column of a BigQuery type (values already checked by coerceCell). */
function cellAppender(type: string): (appender: DuckDBAppender, cell: NonNullable<Cell>) => void {
  switch (type) {
    case 'INTEGER':
      return (a, c) => a.appendBigInt(c as bigint);
    case 'FLOAT':
      return (a, c) => a.appendDouble(c as number);
    case 'BOOLEAN':
      return (a, c) => a.appendBoolean(c as boolean);
    case 'TIMESTAMP':
      return (a, c) => a.appendTimestampTZ(c as DuckDBTimestampTZValue);
    case 'DATETIME':
      return (a, c) => a.appendTimestamp(c as DuckDBTimestampValue);
    case 'DATE':
      return (a, c) => a.appendDate(c as DuckDBDateValue);
    case 'TIME':
      return (a, c) => a.appendTime(c as DuckDBTimeValue);
    case 'BYTES':
      return (a, c) => a.appendBlob(Buffer.from(c as string, 'base64'));
    default:
      // STRING, JSON, NUMERIC (DuckDB casts the text to DECIMAL)
      return (a, c) => a.appendVarchar(c as string);
  }
}
