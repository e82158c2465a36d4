/**
 * A table's schema, partitioning and clustering checked as BigQuery checks them on tables.insert,
 * and the schema changes tables.patch allows (additive only), each refused with BigQuery's message.
 */
import { invalid, UnsupportedLocallyError } from '../errors';
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
  }
  return { fields: names };
}

/**
 * The table's fields after a patch to `requested`, and the columns it adds (ALTER TABLE ADD COLUMN):
 * a removed column, a type change or a new REQUIRED column is refused as BigQuery refuses it.
 * `name` is the table as BigQuery names it in errors (project:dataset.table).
 */
export function patchedFields(current: TableField[], requested: TableField[] | undefined, name: string): { fields: TableField[]; added: TableField[] } {
  const wanted = checkedFields(requested);
  for (const old of current) {
    const want = wanted.find((f) => f.name.toLowerCase() === old.name.toLowerCase());
    if (!want) throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} is missing in new schema`);
    if (want.type !== old.type)
      throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed type from ${old.type} to ${want.type}`);
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
