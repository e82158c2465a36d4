/**
 * The datasets and tables the store knows, in memory and in the META tables (read back when the
 * file is opened again): lookups that fail as BigQuery's 404s, and their saves and deletes.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { notFound } from '../errors';
import { META, tableKey, type DatasetMeta, type TableMeta } from './metadata';

export class Catalog {
  private readonly datasets = new Map<string, DatasetMeta>();
  private readonly tables = new Map<string, TableMeta>();

  private constructor(private readonly writer: DuckDBConnection) {}

  /** What an earlier run on the same file created. */
  static async load(writer: DuckDBConnection): Promise<Catalog> {
    const catalog = new Catalog(writer);
    for (const [resource] of (await writer.runAndReadAll(`SELECT resource FROM ${META}.datasets`)).getRows()) {
      const meta = JSON.parse(String(resource)) as DatasetMeta;
      catalog.datasets.set(meta.datasetId, meta);
    }
    for (const [resource] of (await writer.runAndReadAll(`SELECT resource FROM ${META}.tables`)).getRows()) {
      const meta = JSON.parse(String(resource)) as TableMeta;
      catalog.tables.set(tableKey(meta.datasetId, meta.tableId), meta);
    }
    return catalog;
  }

  dataset(projectId: string, datasetId: string): DatasetMeta {
    const meta = this.datasets.get(datasetId);
    if (!meta) throw notFound(`Dataset ${projectId}:${datasetId}`);
    return meta;
  }

  hasDataset(datasetId: string): boolean {
    return this.datasets.has(datasetId);
  }

  allDatasets(): DatasetMeta[] {
    return [...this.datasets.values()];
  }

  /** The dataset's location (BigQuery's default, US, for one that is gone). */
  locationOf(datasetId: string): string {
    return this.datasets.get(datasetId)?.location ?? 'US';
  }

  table(projectId: string, datasetId: string, tableId: string): TableMeta {
    this.dataset(projectId, datasetId);
    const meta = this.tables.get(tableKey(datasetId, tableId));
    if (!meta) throw notFound(`Table ${projectId}:${datasetId}.${tableId}`);
    return meta;
  }

  hasTable(datasetId: string, tableId: string): boolean {
    return this.tables.has(tableKey(datasetId, tableId));
  }

  tablesIn(datasetId: string): TableMeta[] {
    return [...this.tables.values()].filter((t) => t.datasetId === datasetId);
  }

  async saveDataset(meta: DatasetMeta): Promise<void> {
    await this.writer.run(`INSERT OR REPLACE INTO ${META}.datasets VALUES ($1, $2)`, [meta.datasetId, JSON.stringify(meta)]);
    this.datasets.set(meta.datasetId, meta);
  }

  async saveTable(meta: TableMeta): Promise<void> {
    await this.writer.run(`INSERT OR REPLACE INTO ${META}.tables VALUES ($1, $2, $3)`, [meta.datasetId, meta.tableId, JSON.stringify(meta)]);
    this.tables.set(tableKey(meta.datasetId, meta.tableId), meta);
  }

  /** Forgets the dataset, its tables and their insertIds (the DuckDB schema is the caller's to drop). */
  async deleteDataset(datasetId: string, tables: TableMeta[]): Promise<void> {
    await this.writer.run(`DELETE FROM ${META}.tables WHERE dataset_id = $1`, [datasetId]);
    await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE starts_with(table_key, $1)`, [`${datasetId}.`]);
    await this.writer.run(`DELETE FROM ${META}.datasets WHERE dataset_id = $1`, [datasetId]);
    for (const t of tables) this.tables.delete(tableKey(t.datasetId, t.tableId));
    this.datasets.delete(datasetId);
  }

  /** Forgets the table and its insertIds (the DuckDB table or view is the caller's to drop). */
  async deleteTable(datasetId: string, tableId: string): Promise<void> {
    await this.writer.run(`DELETE FROM ${META}.tables WHERE dataset_id = $1 AND table_id = $2`, [datasetId, tableId]);
    await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE table_key = $1`, [tableKey(datasetId, tableId)]);
    this.tables.delete(tableKey(datasetId, tableId));
  }
}
