/**
 * One corpus case and the comparison that judges it.
 *
 * Values are compared after `normalise()`, which turns what @google-cloud/bigquery returns into
 * plain JSON-like values, driven by the result schema:
 *   INT64, FLOAT64  number (the client's default, wrapIntegers off); FLOAT64 compared with a
 *                   relative tolerance of 1e-9, INT64 exactly
 *   NUMERIC         decimal text without trailing zeros (Big#toString): '42', '-19.99'
 *   STRING, BOOL    as returned
 *   TIMESTAMP       'YYYY-MM-DDTHH:MM:SS.ffffffZ' (always six fractional digits); write with T()
 *   DATE            'YYYY-MM-DD'
 *   DATETIME        'YYYY-MM-DDTHH:MM:SS.ffffff' (always six fractional digits); write with DT()
 *   TIME            'HH:MM:SS.ffffff'; write with TM()
 *   JSON            the parsed value (so key order and number spelling do not matter)
 *   BYTES           base64 text
 *   ARRAY, STRUCT   arrays and objects of the above
 * Normalising only picks one spelling per type; it never converts between types, and a case's
 * `types` (compared against the result schema) keeps INT64, FLOAT64, NUMERIC and STRING apart.
 */

export type Row = Record<string, unknown>;

export interface Case {
  id: string;
  topic: string;
  sql: string;
  /** Named (object) or positional (array, `?` in the SQL) query parameters, as given to bigquery.query. */
  params?: Record<string, unknown> | unknown[];
  /** Parameter types for bigquery.query, when a value alone does not determine them (NULL, empty arrays). */
  paramTypes?: Record<string, unknown> | unknown[];
  /** Expected rows after normalise(). */
  expected?: Row[];
  /** The result's column types, in order, by standard SQL names: INT64, FLOAT64, NUMERIC, STRING, BOOL,
   *  TIMESTAMP, DATE, DATETIME, TIME, JSON, BYTES, STRUCT<...> as STRUCT, ARRAY<T>. */
  types?: string[];
  /** Compare row order (only when the SQL has a total ORDER BY). */
  ordered?: boolean;
  /** BigQuery answers with an error; the endpoint must error with a message matching this. */
  expectedError?: RegExp;
  /** Why the expected answer is what it is, when it is not obvious. */
  note?: string;
}

/** A TIMESTAMP as normalised: T('2024-02-29 00:10:00.123456') -> '2024-02-29T00:10:00.123456Z'. */
export function T(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/.exec(text.trim());
  if (!m) throw new Error(`T(): not a timestamp: ${text}`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0').slice(0, 6)}Z`;
}

/** A DATETIME as normalised: DT('2024-03-01 00:15:00') -> '2024-03-01T00:15:00.000000'. */
export function DT(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) throw new Error(`DT(): not a datetime: ${text}`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0').slice(0, 6)}`;
}

/** A TIME as normalised: TM('10:00:00') -> '10:00:00.000000'. */
export function TM(text: string): string {
  const m = /^(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) throw new Error(`TM(): not a time: ${text}`);
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}`;
}

export interface ResultField {
  name: string;
  type: string;
  mode?: string;
  fields?: ResultField[];
}

const STANDARD: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

/** A result column's type by its standard SQL name: INT64, ARRAY<STRING>, STRUCT ... */
export function typeName(field: ResultField): string {
  const base = STANDARD[field.type.toUpperCase()] ?? field.type.toUpperCase();
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}

function valueOf(v: unknown): unknown {
  return v !== null && typeof v === 'object' && 'value' in v ? v.value : v;
}

/** One returned value, normalised according to its schema field (see the file comment). */
export function normalise(value: unknown, field: ResultField): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') {
    return (value as unknown[]).map((item) => normalise(item, { ...field, mode: 'NULLABLE' }));
  }
  switch (field.type.toUpperCase()) {
    case 'RECORD':
    case 'STRUCT': {
      const out: Row = {};
      for (const sub of field.fields ?? []) out[sub.name] = normalise((value as Row)[sub.name], sub);
      return out;
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return String(value);
    case 'TIMESTAMP': {
      const text = String(valueOf(value));
      return T(text.replace(/(\.\d+)?Z$/, (_all, frac: string | undefined) => `${frac ?? ''}`));
    }
    case 'DATETIME':
      return DT(String(valueOf(value)));
    case 'TIME':
      return TM(String(valueOf(value)));
    case 'DATE':
      return String(valueOf(value));
    case 'JSON':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'BYTES':
      return Buffer.isBuffer(value) ? value.toString('base64') : value;
    default:
      return value;
  }
}

export function normaliseRows(rows: Row[], fields: ResultField[]): Row[] {
  return rows.map((row) => {
    const out: Row = {};
    for (const f of fields) out[f.name] = normalise(row[f.name], f);
    return out;
  });
}

/** Deep equality; numbers within a relative 1e-9 (FLOAT64 sums depend on order), NaN equals NaN. */
export function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (a === b) return true;
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same((a as Row)[k], (b as Row)[k]));
  }
  return a === b;
}

/** A stable text for sorting rows when order does not matter (numbers rounded so near-equal floats sort together). */
export function sortKey(row: unknown): string {
  return JSON.stringify(row, (_k, v: unknown) => {
    if (typeof v === 'number') return Number.isFinite(v) ? Number(v.toPrecision(12)) : String(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Row).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    }
    return v;
  });
}

export const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));

/** Compares got with expected; null when equal, else what differs: the first differing row when order matters, else the rows missing and the rows extra. */
export function compare(c: Case, got: Row[], fields: ResultField[]): string | null {
  const expected = c.expected ?? [];
  if (c.types) {
    const gotTypes = fields.map(typeName);
    if (!same(gotTypes, c.types)) return `column types: expected ${show(c.types)}, got ${show(gotTypes)}`;
  }
  const expectedColumns = expected.length ? Object.keys(expected[0]) : null;
  const gotColumns = fields.map((f) => f.name);
  if (expectedColumns && !same([...expectedColumns].sort(), [...gotColumns].sort())) {
    return `columns: expected ${show(expectedColumns)}, got ${show(gotColumns)}`;
  }
  if (c.ordered) {
    for (let i = 0; i < Math.max(expected.length, got.length); i++) {
      if (!same(expected[i], got[i])) {
        return `row ${i}: expected ${show(expected[i])}, got ${show(got[i])}; ${expected.length} rows expected, ${got.length} returned`;
      }
    }
    return null;
  }
  // Unordered: match rows as a multiset and name what is missing and what is extra.
  const unmatched = [...got];
  const missing: Row[] = [];
  for (const row of expected) {
    const at = unmatched.findIndex((g) => same(row, g));
    if (at >= 0) unmatched.splice(at, 1);
    else missing.push(row);
  }
  if (!missing.length && !unmatched.length) return null;
  const bySort = (x: Row, y: Row) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0);
  return (
    `${expected.length} rows expected, ${got.length} returned; ` +
    `expected but not returned (${missing.length}): ${show(missing.sort(bySort).slice(0, 3))}; ` +
    `returned but not expected (${unmatched.length}): ${show(unmatched.sort(bySort).slice(0, 3))}`
  );
  return null;
}
