/**
 * A table's schema, partitioning and clustering checked as BigQuery checks them on tables.insert,
 * and the schema changes tables.patch allows (additive only), each refused with BigQuery's message.
 */
import { invalid, UnsupportedLocallyError } from '../errors';
import { duckTypeOf, quoteIdent } from '../sql';
import { canonicalFields, InvalidRequest, type TableField } from '../values';
import type { TableMeta } from './metadata';

export function checkedFields(fields: TableField[] | undefined): TableField[] {
  try {
    return canonicalFields(fields);
  } catch (error) {
    if (error instanceof InvalidRequest || error instanceof UnsupportedLocallyError) throw invalid(error.message);
    throw error;
  }
}

/**
 * The DuckDB column type of a BigQuery field: REPEATED -> LIST (T[]), RECORD -> STRUCT with its
 * sub-fields quoted, in BigQuery's order and case; BIGNUMERIC -> DECIMAL(38,9) (values beyond it are
 * refused at insertAll, values.ts); scalars as the translator casts them (sql/duckdb.ts).
 */
export function duckColumnType(field: TableField): string {
  const base =
    field.type === 'RECORD'
      ? `STRUCT(${(field.fields ?? []).map((f) => `${quoteIdent(f.name)} ${duckColumnType(f)}`).join(', ')})`
      : field.type === 'BIGNUMERIC'
        ? 'DECIMAL(38,9)'
        : duckTypeOf(field.type);
  return field.mode === 'REPEATED' ? `${base}[]` : base;
}

export function checkedPartitioning(fields: TableField[], value: unknown): TableMeta['timePartitioning'] {
  if (!value) return undefined;
  const p = value as NonNullable<TableMeta['timePartitioning']>;
  const type = String(p.type ?? 'DAY').toUpperCase();
  if (!['HOUR', 'DAY', 'MONTH', 'YEAR'].includes(type)) throw invalid(`Invalid time partitioning type ${p.type}`);
  if (p.field !== undefined) {
    const field = fields.find((f) => f.name.toLowerCase() === String(p.field).toLowerCase());
    if (!field) throw invalid(`The field specified for partitioning cannot be found in the schema`);
    if (!['TIMESTAMP', 'DATE', 'DATETIME'].includes(field.type)) {
      throw invalid(`The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME. The type found is: ${field.type}.`);
    }
  }
  return { ...p, type };
}

export function checkedClustering(fields: TableField[], value: unknown): TableMeta['clustering'] {
  if (!value) return undefined;
  const names = ((value as { fields?: string[] }).fields ?? []).map(String);
  if (names.length > 4) throw invalid('Too many clustering fields: ' + names.length + ', only 4 are allowed.');
  for (const name of names) {
    const field = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (!field) throw invalid(`The field specified for clustering cannot be found in the schema.  Invalid field: ${name}.`);
    if (field.type === 'JSON' || field.type === 'FLOAT') throw invalid(`Field ${name} is of type ${field.type} which is not supported for clustering.`);
    // Clustering columns are top-level, non-repeated (https://cloud.google.com/bigquery/docs/clustered-tables#limitations).
    if (field.type === 'RECORD') throw invalid(`Field ${name} is of type RECORD which is not supported for clustering.`);
    if (field.mode === 'REPEATED') throw invalid(`Field ${name} is REPEATED, which is not supported for clustering.`);
  }
  return { fields: names };
}

/**
 * The table's fields after a patch to `requested`, and the columns it adds (ALTER TABLE ADD COLUMN):
 * a removed column, a type change or a new REQUIRED column is refused as BigQuery refuses it.
 * `name` is the table as BigQuery names it in errors (project:dataset.table).
 */
/** Sub-fields without their descriptions (which a patch may change). */
const strip = (fields: TableField[] | undefined): unknown => (fields ?? []).map((f) => ({ name: f.name, type: f.type, mode: f.mode, fields: strip(f.fields) }));

export function patchedFields(current: TableField[], requested: TableField[] | undefined, name: string): { fields: TableField[]; added: TableField[] } {
  const wanted = checkedFields(requested);
  try {
    return patched(current, wanted, name);
  } catch (error) {
    if (error instanceof UnsupportedLocallyError) throw invalid(error.message);
    throw error;
  }
}

function patched(current: TableField[], wanted: TableField[], name: string): { fields: TableField[]; added: TableField[] } {
  for (const old of current) {
    const want = wanted.find((f) => f.name.toLowerCase() === old.name.toLowerCase());
    if (!want) throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} is missing in new schema`);
    if (want.type !== old.type)
      throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed type from ${old.type} to ${want.type}`);
    if ((old.mode === 'REPEATED') !== (want.mode === 'REPEATED'))
      throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed mode from ${old.mode} to ${want.mode}`);
    // Adding sub-fields to a RECORD would need ALTER TABLE on the DuckDB STRUCT.
    if (old.type === 'RECORD' && JSON.stringify(strip(old.fields)) !== JSON.stringify(strip(want.fields)))
      throw new UnsupportedLocallyError(`changing the sub-fields of RECORD field ${old.name} in tables.patch`);
    if (old.mode === 'NULLABLE' && want.mode === 'REQUIRED')
      throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed mode from NULLABLE to REQUIRED`);
  }
  const added: TableField[] = [];
  for (const f of wanted) {
    if (current.some((old) => old.name.toLowerCase() === f.name.toLowerCase())) continue;
    if (f.mode === 'REQUIRED')
      throw invalid(`Provided Schema does not match Table ${name}. Cannot add required fields to an existing schema. (field: ${f.name})`);
    added.push(f);
  }
  // DuckDB keeps column order; new columns go last whatever their place in the request.
  return { fields: [...current.map((old) => wanted.find((f) => f.name.toLowerCase() === old.name.toLowerCase())!), ...added], added };
}
