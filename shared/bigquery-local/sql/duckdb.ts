/** How DuckDB spells what the translator writes: quoted identifiers and strings, and type names. */
import { UnsupportedLocallyError } from '../errors';

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const quoteString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** BigQuery type name (as written in CAST or a schema) -> DuckDB type. */
export function duckTypeOf(bigQueryType: string): string {
  const t = bigQueryType
    .trim()
    .toUpperCase()
    .replace(/\s*\(.*\)$/, '');
  switch (t) {
    case 'INT64':
    case 'INTEGER':
    case 'INT':
    case 'SMALLINT':
    case 'BIGINT':
    case 'TINYINT':
    case 'BYTEINT':
      return 'BIGINT';
    case 'FLOAT64':
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
    case 'DECIMAL':
      return 'DECIMAL(38,9)';
    case 'BOOL':
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'STRING':
      return 'VARCHAR';
    case 'BYTES':
      return 'BLOB';
    case 'DATE':
      return 'DATE';
    case 'DATETIME':
      return 'TIMESTAMP';
    case 'TIMESTAMP':
      return 'TIMESTAMPTZ';
    case 'TIME':
      return 'TIME';
    case 'JSON':
      return 'JSON';
    default:
      throw new UnsupportedLocallyError(`type ${bigQueryType.trim()}`);
  }
}
