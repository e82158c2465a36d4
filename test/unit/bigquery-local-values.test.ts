/** insertAll value checks and result encoding of the local BigQuery endpoint. */
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import { scaledDecimal } from '../../shared/bigquery-local/values/nested';
import { canonicalFields, coerceCell, encodeCell, isCellError, parseTimestampMicros, type TableField } from '../../shared/bigquery-local/values';

const field = (type: string, mode = 'NULLABLE'): TableField => ({ name: 'f', type, mode });

describe('parseTimestampMicros', () => {
  it.each([
    ['2024-01-01T00:00:00Z', 1704067200000000n],
    ['2024-01-01T00:00:00.123Z', 1704067200123000n],
    ['2024-01-01 00:00:00.123456', 1704067200123456n],
    ['2024-01-01T02:00:00+02:00', 1704067200000000n],
    ['2023-12-31 19:00:00-05', 1704067200000000n],
    ['2024-01-01 00:00:00 UTC', 1704067200000000n],
    ['2024-01-01', 1704067200000000n],
  ])('%s', (text, micros) => {
    expect(parseTimestampMicros(text)).toBe(micros);
  });

  it.each(['2024-02-30T00:00:00Z', '2024-13-01T00:00:00Z', 'yesterday', '2024-01-01T25:00:00Z', ''])('refuses %j', (text) => {
    expect(parseTimestampMicros(text)).toBeUndefined();
  });
});

describe('coerceCell', () => {
  it('accepts what BigQuery accepts for each type', () => {
    expect(coerceCell(field('INTEGER'), 42)).toBe(42n);
    expect(coerceCell(field('INTEGER'), '-9007199254740993')).toBe(-9007199254740993n);
    expect(coerceCell(field('FLOAT'), '1.5')).toBe(1.5);
    expect(coerceCell(field('FLOAT'), 'NaN')).toBeNaN();
    expect(coerceCell(field('BOOLEAN'), 'TRUE')).toBe(true);
    expect(coerceCell(field('STRING'), 7)).toBe('7');
    expect(coerceCell(field('JSON'), '{"a":1}')).toBe('{"a":1}');
    expect(coerceCell(field('JSON'), { a: 1 })).toBe('{"a":1}');
    expect(coerceCell(field('TIMESTAMP'), 1704067200.5)).toEqual(new DuckDBTimestampTZValue(1704067200500000n));
    expect(coerceCell(field('NUMERIC'), '12.50')).toBe('12.50');
    expect(coerceCell(field('STRING'), null)).toBeNull();
  });

  it.each([
    [field('INTEGER'), 1.5, 'Cannot convert value to integer (bad value): 1.5'],
    [field('INTEGER'), '9223372036854775808', 'Cannot convert value to integer'],
    [field('BOOLEAN'), 'yes', 'Cannot convert value to boolean'],
    [field('STRING'), { a: 1 }, 'Cannot convert value to string'],
    [field('DATE'), '2024-02-30', 'Cannot convert value to date'],
    [field('JSON'), '{broken', 'Invalid JSON value for field f'],
    [field('STRING', 'REQUIRED'), undefined, 'Missing required field: f.'],
  ])('refuses %j <- %j', (f, value, message) => {
    const cell = coerceCell(f, value);
    expect(isCellError(cell) && cell.message).toContain(message);
  });
});

describe('canonicalFields', () => {
  it('stores legacy type names and NULLABLE by default, as BigQuery reports them', () => {
    expect(
      canonicalFields([
        { name: 'a', type: 'INT64' },
        { name: 'b', type: 'BOOL', mode: 'required' },
      ]),
    ).toEqual([
      { name: 'a', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'b', type: 'BOOLEAN', mode: 'REQUIRED' },
    ]);
  });

  it('refuses duplicate names and what the local endpoint does not store', () => {
    expect(() =>
      canonicalFields([
        { name: 'a', type: 'STRING' },
        { name: 'A', type: 'STRING' },
      ]),
    ).toThrow('Field A already exists in schema');
    expect(() => canonicalFields([{ name: 'g', type: 'GEOGRAPHY' }])).toThrow('unsupported locally: column type GEOGRAPHY');
    expect(() => canonicalFields([{ name: 'r', type: 'RECORD' }])).toThrow('Field r is type RECORD but has no schema');
  });

  it('keeps REPEATED modes and RECORD sub-fields, STRUCT as RECORD (nested cases: bigquery-local-nested.test.ts)', () => {
    expect(canonicalFields([{ name: 's', type: 'STRUCT', mode: 'repeated', fields: [{ name: 'X', type: 'INT64', mode: 'REPEATED' }] }])).toEqual([
      { name: 's', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'X', type: 'INTEGER', mode: 'REPEATED' }] },
    ]);
  });
});

describe('encodeCell', () => {
  const ts = { name: 't', type: 'TIMESTAMP', mode: 'NULLABLE' as const };
  it('writes TIMESTAMP as float seconds, or integer microseconds when asked', () => {
    const value = new DuckDBTimestampTZValue(1704067200123456n);
    expect(encodeCell(ts, value, { int64Timestamp: false })).toBe('1704067200.123456');
    expect(encodeCell(ts, new DuckDBTimestampTZValue(1704067200000000n), { int64Timestamp: false })).toBe('1704067200');
    expect(encodeCell(ts, new DuckDBTimestampTZValue(-1500000n), { int64Timestamp: false })).toBe('-1.5');
    expect(encodeCell(ts, value, { int64Timestamp: true })).toBe('1704067200123456');
  });

  it('writes scalars as strings and NULL as null', () => {
    expect(encodeCell({ name: 'b', type: 'BOOLEAN', mode: 'NULLABLE' }, true, { int64Timestamp: true })).toBe('true');
    expect(encodeCell({ name: 'n', type: 'INTEGER', mode: 'NULLABLE' }, 5n, { int64Timestamp: true })).toBe('5');
    expect(encodeCell({ name: 'f', type: 'FLOAT', mode: 'NULLABLE' }, Infinity, { int64Timestamp: true })).toBe('Infinity');
    expect(encodeCell({ name: 's', type: 'STRING', mode: 'NULLABLE' }, null, { int64Timestamp: true })).toBeNull();
  });
});

describe('scaledDecimal (NUMERIC inside arrays, records and parameters, as DECIMAL(38,9))', () => {
  it('scales to 9 decimals, with exponents, rounding half away from zero', () => {
    expect(scaledDecimal('12.5')).toBe(12_500_000_000n);
    expect(scaledDecimal('-0.000000001')).toBe(-1n);
    expect(scaledDecimal('1e3')).toBe(1_000_000_000_000n);
    expect(scaledDecimal('1.5e-9')).toBe(2n);
    expect(scaledDecimal('-1.0000000004')).toBe(-1_000_000_000n);
    expect(scaledDecimal('3')).toBe(3_000_000_000n);
  });
});
