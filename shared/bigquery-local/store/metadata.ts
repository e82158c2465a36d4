/**
 * What the store keeps about each dataset and table besides DuckDB's own catalog (the BigQuery schema
 * with its modes and descriptions, partitioning, clustering, the view's BigQuery SQL, labels), where
 * it keeps it (the META schema, so a restart on the same file keeps everything), and the REST
 * resources BigQuery answers for them.
 */
import { createHash } from 'node:crypto';
import { quoteIdent } from '../sql';
import type { TableField } from '../values';

/** Where the endpoint keeps its own metadata; not a dataset anyone can create. */
export const META = '__bigquery_local';

/** The META tables: datasets and tables as JSON resources, and the insertIds seen recently. */
export const META_SCHEMA_SQL = `
      CREATE SCHEMA IF NOT EXISTS ${META};
      CREATE TABLE IF NOT EXISTS ${META}.datasets (dataset_id VARCHAR PRIMARY KEY, resource JSON);
      CREATE TABLE IF NOT EXISTS ${META}.tables (dataset_id VARCHAR, table_id VARCHAR, resource JSON, PRIMARY KEY (dataset_id, table_id));
      CREATE TABLE IF NOT EXISTS ${META}.insert_ids (table_key VARCHAR, insert_id VARCHAR, seen_at TIMESTAMPTZ);
    `;

export interface DatasetMeta {
  datasetId: string;
  projectId: string;
  location: string;
  description?: string;
  labels?: Record<string, string>;
  friendlyName?: string;
  creationTime: string;
  lastModifiedTime: string;
}

export interface TableMeta {
  datasetId: string;
  tableId: string;
  projectId: string;
  type: 'TABLE' | 'VIEW';
  fields: TableField[];
  timePartitioning?: { type: string; field?: string; expirationMs?: string; requirePartitionFilter?: boolean };
  clustering?: { fields: string[] };
  view?: { query: string; useLegacySql: boolean };
  description?: string;
  labels?: Record<string, string>;
  friendlyName?: string;
  expirationTime?: string;
  creationTime: string;
  lastModifiedTime: string;
}

/** Dataset and table ids BigQuery accepts. */
export const ID = /^[A-Za-z0-9_]{1,1024}$/;
export const now = () => String(Date.now());
export const etagOf = (...parts: string[]) => createHash('md5').update(parts.join('|')).digest('base64');
export const tableKey = (datasetId: string, tableId: string) => `${datasetId}.${tableId}`;
export const qualified = (datasetId: string, tableId: string) => `${quoteIdent(datasetId)}.${quoteIdent(tableId)}`;
export const tableEtag = (meta: TableMeta) => etagOf(meta.datasetId, meta.tableId, meta.lastModifiedTime, JSON.stringify(meta.fields));

export function datasetResource(meta: DatasetMeta, projectId: string): Record<string, unknown> {
  return {
    kind: 'bigquery#dataset',
    etag: etagOf(meta.datasetId, meta.lastModifiedTime),
    id: `${projectId}:${meta.datasetId}`,
    datasetReference: { datasetId: meta.datasetId, projectId },
    location: meta.location,
    type: 'DEFAULT',
    creationTime: meta.creationTime,
    lastModifiedTime: meta.lastModifiedTime,
    ...(meta.description !== undefined && { description: meta.description }),
    ...(meta.friendlyName !== undefined && { friendlyName: meta.friendlyName }),
    ...(meta.labels && { labels: meta.labels }),
  };
}

export function datasetList(datasets: DatasetMeta[], projectId: string): Record<string, unknown> {
  return {
    kind: 'bigquery#datasetList',
    etag: etagOf(...datasets.map((d) => d.datasetId)),
    datasets: datasets.map((d) => ({
      kind: 'bigquery#dataset',
      id: `${projectId}:${d.datasetId}`,
      datasetReference: { datasetId: d.datasetId, projectId },
      location: d.location,
      ...(d.labels && { labels: d.labels }),
    })),
  };
}

/** tables.get, with what only DuckDB knows passed in: the columns (a view's follow its base tables) and a table's row count. */
export function tableResource(meta: TableMeta, projectId: string, location: string, fields: readonly unknown[], numRows?: string): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    kind: 'bigquery#table',
    etag: tableEtag(meta),
    id: `${projectId}:${meta.datasetId}.${meta.tableId}`,
    tableReference: { projectId, datasetId: meta.datasetId, tableId: meta.tableId },
    schema: { fields },
    type: meta.type,
    location,
    creationTime: meta.creationTime,
    lastModifiedTime: meta.lastModifiedTime,
  };
  if (numRows !== undefined) Object.assign(resource, { numRows, numBytes: '0', numLongTermBytes: '0' });
  for (const key of ['timePartitioning', 'clustering', 'view', 'description', 'labels', 'friendlyName', 'expirationTime'] as const) {
    if (meta[key] !== undefined) resource[key] = meta[key];
  }
  return resource;
}

export function tableList(tables: TableMeta[], projectId: string): Record<string, unknown> {
  return {
    kind: 'bigquery#tableList',
    etag: etagOf(...tables.map((t) => t.tableId)),
    totalItems: tables.length,
    tables: tables.map((t) => ({
      kind: 'bigquery#table',
      id: `${projectId}:${t.datasetId}.${t.tableId}`,
      tableReference: { projectId, datasetId: t.datasetId, tableId: t.tableId },
      type: t.type,
      creationTime: t.creationTime,
      ...(t.timePartitioning && { timePartitioning: t.timePartitioning }),
      ...(t.clustering && { clustering: t.clustering }),
      ...(t.labels && { labels: t.labels }),
    })),
  };
}
