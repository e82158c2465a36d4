/**
 * Creates a table of the warehouse dataset where it is missing: the tools' own tables (audits) on
 * the local endpoint, where nothing deployed them. In GCP infra/warehouse.ts made them, and this
 * only checks they exist.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { MeshSpec } from '../spec/types';
import type { BigQueryField } from './schema';

export interface ToolTable {
  name: string;
  fields: BigQueryField[];
  /** Day-partitioned on this TIMESTAMP column. */
  partitionField: string;
  description: string;
}

export async function ensureToolTable(bigquery: BigQuery, spec: MeshSpec, table: ToolTable): Promise<void> {
  const dataset = bigquery.dataset(spec.warehouse.dataset, { location: spec.warehouse.location });
  const [datasetExists] = await dataset.exists();
  if (!datasetExists) await dataset.create({ location: spec.warehouse.location });
  const [exists] = await dataset.table(table.name).exists();
  if (!exists)
    await dataset.createTable(table.name, {
      schema: { fields: table.fields },
      timePartitioning: { type: 'DAY', field: table.partitionField },
      description: table.description,
    });
}
