/**
 * The DuckDB side of the local BigQuery endpoint. Datasets are DuckDB schemas, tables are DuckDB
 * tables, views are DuckDB views of the translated query. Table metadata (the BigQuery schema with
 * its modes and descriptions, partitioning, clustering, the view's BigQuery SQL, labels) and the
 * insertIds seen recently are stored in DuckDB too, so a restart on the same file keeps everything.
 *
 * Writes (DDL and insertAll) go through one connection, one at a time; queries through another.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBTimestampValue,
  type DuckDBTimeValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { ApiFailure, alreadyExists, invalid, invalidQuery, notFound } from './errors';
import { quoteIdent, translateQuery, UnsupportedLocallyError } from './sql';
import {
  canonicalFields,
  coerceCell,
  duckColumnType,
  encodeCell,
  InvalidRequest,
  isCellError,
  parseTimestampMicros,
  resultField,
  type Cell,
  type ResultField,
  type TableField,
} from './values';

/** Where the endpoint keeps its own metadata; not a dataset anyone can create. */
const META = '__bigquery_local';

export interface StoreOptions {
  /** DuckDB database file, or ':memory:'. */
  dataFile: string;
  /** How long an insertId is remembered for dedup (BigQuery: best effort, at least a minute). Default 1 hour. */
  dedupWindowSeconds?: number;
}

interface DatasetMeta {
  datasetId: string;
  projectId: string;
  location: string;
  description?: string;
  labels?: Record<string, string>;
  friendlyName?: string;
  creationTime: string;
  lastModifiedTime: string;
}

interface TableMeta {
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

export interface QueryRequest {
  query?: string;
  useLegacySql?: boolean;
  defaultDataset?: { datasetId?: string; projectId?: string };
  parameterMode?: string;
  queryParameters?: { name?: string; parameterType?: { type?: string }; parameterValue?: { value?: unknown } }[];
  destinationTable?: unknown;
  dryRun?: boolean;
}

export interface QueryResult {
  schema: { fields: ResultField[] };
  rows: DuckDBValue[][];
  statementType: string;
}

/** One async operation at a time (DuckDB connections are not safe for interleaved use). */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const now = () => String(Date.now());
const etagOf = (...parts: string[]) => createHash('md5').update(parts.join('|')).digest('base64');
const tableKey = (datasetId: string, tableId: string) => `${datasetId}.${tableId}`;
const qualified = (datasetId: string, tableId: string) => `${quoteIdent(datasetId)}.${quoteIdent(tableId)}`;
const ID = /^[A-Za-z0-9_]{1,1024}$/;

export class LocalBigQueryStore {
  private readonly datasets = new Map<string, DatasetMeta>();
  private readonly tables = new Map<string, TableMeta>();
  /** insertId -> when it was seen (ms), per table, oldest first. */
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();
  private readonly dedupWindowMs: number;
  private lastPrune = Date.now();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    options: StoreOptions,
  ) {
    this.dedupWindowMs = (options.dedupWindowSeconds ?? 3600) * 1000;
  }

  static async open(options: StoreOptions): Promise<LocalBigQueryStore> {
    if (options.dataFile !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(options.dataFile)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(options.dataFile);
    } catch (error) {
      const message = (error as Error).message;
      if (/lock/i.test(message)) throw new Error(`local BigQuery data file ${options.dataFile} is in use by another process: ${message.split('\n')[0]}`);
      throw error;
    }
    const writer = await instance.connect();
    const reader = await instance.connect();
    // UTC like BigQuery, and BigQuery's NULL order: first when ascending, last when descending.
    for (const c of [writer, reader]) await c.run(`SET TimeZone = 'UTC'; SET default_null_order = 'nulls_first_on_asc_last_on_desc'`);
    await writer.run(`
      CREATE SCHEMA IF NOT EXISTS ${META};
      CREATE TABLE IF NOT EXISTS ${META}.datasets (dataset_id VARCHAR PRIMARY KEY, resource JSON);
      CREATE TABLE IF NOT EXISTS ${META}.tables (dataset_id VARCHAR, table_id VARCHAR, resource JSON, PRIMARY KEY (dataset_id, table_id));
      CREATE TABLE IF NOT EXISTS ${META}.insert_ids (table_key VARCHAR, insert_id VARCHAR, seen_at TIMESTAMPTZ);
    `);
    const store = new LocalBigQueryStore(instance, writer, reader, options);
    for (const [resource] of (await writer.runAndReadAll(`SELECT resource FROM ${META}.datasets`)).getRows()) {
      const meta = JSON.parse(String(resource)) as DatasetMeta;
      store.datasets.set(meta.datasetId, meta);
    }
    for (const [resource] of (await writer.runAndReadAll(`SELECT resource FROM ${META}.tables`)).getRows()) {
      const meta = JSON.parse(String(resource)) as TableMeta;
      store.tables.set(tableKey(meta.datasetId, meta.tableId), meta);
    }
    return store;
  }

  close(): void {
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }

  // -------------------------------------------------------------------------------------------
  // Datasets

  private dataset(projectId: string, datasetId: string): DatasetMeta {
    const meta = this.datasets.get(datasetId);
    if (!meta) throw notFound(`Dataset ${projectId}:${datasetId}`);
    return meta;
  }

  private datasetResource(meta: DatasetMeta, projectId: string): Record<string, unknown> {
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

  getDataset(projectId: string, datasetId: string): Record<string, unknown> {
    return this.datasetResource(this.dataset(projectId, datasetId), projectId);
  }

  listDatasets(projectId: string): Record<string, unknown> {
    return {
      kind: 'bigquery#datasetList',
      etag: etagOf(...this.datasets.keys()),
      datasets: [...this.datasets.values()].map((d) => ({
        kind: 'bigquery#dataset',
        id: `${projectId}:${d.datasetId}`,
        datasetReference: { datasetId: d.datasetId, projectId },
        location: d.location,
        ...(d.labels && { labels: d.labels }),
      })),
    };
  }

  createDataset(projectId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      const ref = (body.datasetReference ?? {}) as { datasetId?: string };
      const datasetId = ref.datasetId ?? '';
      if (!ID.test(datasetId) || datasetId === META) throw invalid(`Invalid dataset ID "${datasetId}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`);
      if (this.datasets.has(datasetId)) throw alreadyExists(`Dataset ${projectId}:${datasetId}`);
      const time = now();
      const meta: DatasetMeta = {
        datasetId,
        projectId,
        location: typeof body.location === 'string' && body.location ? body.location : 'US',
        description: body.description as string | undefined,
        friendlyName: body.friendlyName as string | undefined,
        labels: body.labels as Record<string, string> | undefined,
        creationTime: time,
        lastModifiedTime: time,
      };
      await this.writer.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(datasetId)}`);
      await this.saveDataset(meta);
      return this.datasetResource(meta, projectId);
    });
  }

  patchDataset(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      const meta = this.dataset(projectId, datasetId);
      for (const key of ['description', 'friendlyName', 'labels'] as const) if (key in body) (meta as unknown as Record<string, unknown>)[key] = body[key];
      meta.lastModifiedTime = now();
      await this.saveDataset(meta);
      return this.datasetResource(meta, projectId);
    });
  }

  deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): Promise<void> {
    return this.writeLock.run(async () => {
      this.dataset(projectId, datasetId);
      const contents = [...this.tables.values()].filter((t) => t.datasetId === datasetId);
      if (contents.length && !deleteContents) throw new ApiFailure(400, 'resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
      await this.writer.run(`DROP SCHEMA IF EXISTS ${quoteIdent(datasetId)} CASCADE`);
      await this.writer.run(`DELETE FROM ${META}.tables WHERE dataset_id = $1`, [datasetId]);
      await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE starts_with(table_key, $1)`, [`${datasetId}.`]);
      await this.writer.run(`DELETE FROM ${META}.datasets WHERE dataset_id = $1`, [datasetId]);
      for (const t of contents) {
        this.tables.delete(tableKey(t.datasetId, t.tableId));
        this.seen.delete(tableKey(t.datasetId, t.tableId));
      }
      this.datasets.delete(datasetId);
    });
  }

  private async saveDataset(meta: DatasetMeta): Promise<void> {
    await this.writer.run(`INSERT OR REPLACE INTO ${META}.datasets VALUES ($1, $2)`, [meta.datasetId, JSON.stringify(meta)]);
    this.datasets.set(meta.datasetId, meta);
  }

  // -------------------------------------------------------------------------------------------
  // Tables and views

  private table(projectId: string, datasetId: string, tableId: string): TableMeta {
    this.dataset(projectId, datasetId);
    const meta = this.tables.get(tableKey(datasetId, tableId));
    if (!meta) throw notFound(`Table ${projectId}:${datasetId}.${tableId}`);
    return meta;
  }

  private etag(meta: TableMeta): string {
    return etagOf(meta.datasetId, meta.tableId, meta.lastModifiedTime, JSON.stringify(meta.fields));
  }

  private async tableResource(meta: TableMeta, projectId: string): Promise<Record<string, unknown>> {
    const resource: Record<string, unknown> = {
      kind: 'bigquery#table',
      etag: this.etag(meta),
      id: `${projectId}:${meta.datasetId}.${meta.tableId}`,
      tableReference: { projectId, datasetId: meta.datasetId, tableId: meta.tableId },
      schema: { fields: meta.type === 'VIEW' ? await this.viewFields(meta) : meta.fields },
      type: meta.type,
      location: this.datasets.get(meta.datasetId)?.location ?? 'US',
      creationTime: meta.creationTime,
      lastModifiedTime: meta.lastModifiedTime,
    };
    if (meta.type === 'TABLE') {
      const [[count]] = (await this.readLock.run(() => this.reader.runAndReadAll(`SELECT count(*) FROM ${qualified(meta.datasetId, meta.tableId)}`))).getRows();
      Object.assign(resource, { numRows: String(count), numBytes: '0', numLongTermBytes: '0' });
    }
    for (const key of ['timePartitioning', 'clustering', 'view', 'description', 'labels', 'friendlyName', 'expirationTime'] as const) {
      if (meta[key] !== undefined) resource[key] = meta[key];
    }
    return resource;
  }

  /** A view's columns, as BigQuery reports them (from the DuckDB view, so they follow the base tables). */
  private async viewFields(meta: TableMeta): Promise<ResultField[]> {
    try {
      const reader = await this.readLock.run(() => this.reader.runAndReadAll(`SELECT * FROM ${qualified(meta.datasetId, meta.tableId)} LIMIT 0`));
      return reader.columnNames().map((name, k) => resultField(name, reader.columnTypes()[k]));
    } catch {
      return [];
    }
  }

  async getTable(projectId: string, datasetId: string, tableId: string): Promise<Record<string, unknown>> {
    return this.tableResource(this.table(projectId, datasetId, tableId), projectId);
  }

  listTables(projectId: string, datasetId: string): Record<string, unknown> {
    this.dataset(projectId, datasetId);
    const tables = [...this.tables.values()].filter((t) => t.datasetId === datasetId);
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

  createTable(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      this.dataset(projectId, datasetId);
      const ref = (body.tableReference ?? {}) as { tableId?: string; datasetId?: string };
      const tableId = ref.tableId ?? '';
      if (!ID.test(tableId)) throw invalid(`Invalid table ID "${tableId}".`);
      if (this.tables.has(tableKey(datasetId, tableId))) throw alreadyExists(`Table ${projectId}:${datasetId}.${tableId}`);
      const time = now();
      const view = body.view as { query?: string; useLegacySql?: boolean } | undefined;
      const meta: TableMeta = {
        datasetId,
        tableId,
        projectId,
        type: view ? 'VIEW' : 'TABLE',
        fields: [],
        description: body.description as string | undefined,
        labels: body.labels as Record<string, string> | undefined,
        friendlyName: body.friendlyName as string | undefined,
        expirationTime: body.expirationTime as string | undefined,
        creationTime: time,
        lastModifiedTime: time,
      };
      if (view) {
        meta.view = { query: String(view.query ?? ''), useLegacySql: view.useLegacySql ?? false };
        await this.createView(projectId, meta, false);
      } else {
        meta.fields = this.checkedFields((body.schema as { fields?: TableField[] } | undefined)?.fields);
        meta.timePartitioning = this.checkedPartitioning(meta.fields, body.timePartitioning);
        meta.clustering = this.checkedClustering(meta.fields, body.clustering);
        const columns = meta.fields.map((f) => `${quoteIdent(f.name)} ${duckColumnType(f)}`);
        // DuckDB needs at least one column; BigQuery allows schemaless tables (the first patch adds columns).
        if (!columns.length) throw new UnsupportedLocallyError('tables without a schema');
        await this.writer.run(`CREATE TABLE ${qualified(datasetId, tableId)} (${columns.join(', ')})`);
      }
      await this.saveTable(meta);
      return this.tableResource(meta, projectId);
    });
  }

  private checkedFields(fields: TableField[] | undefined): TableField[] {
    try {
      return canonicalFields(fields);
    } catch (error) {
      if (error instanceof InvalidRequest || error instanceof UnsupportedLocallyError) throw invalid(error.message);
      throw error;
    }
  }

  private checkedPartitioning(fields: TableField[], value: unknown): TableMeta['timePartitioning'] {
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

  private checkedClustering(fields: TableField[], value: unknown): TableMeta['clustering'] {
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

  /** CREATE VIEW from the BigQuery query; every table it reads must exist (as BigQuery checks). */
  private async createView(projectId: string, meta: TableMeta, replace: boolean): Promise<void> {
    if (meta.view!.useLegacySql) throw invalid('unsupported locally: legacy SQL views');
    let sql: string;
    try {
      sql = translateQuery(meta.view!.query, {
        onTable: (dataset, table) => {
          if (!dataset) throw invalidQuery(`Table "${table}" must be qualified with a dataset (e.g. dataset.table).`);
          this.table(projectId, dataset, table);
        },
      }).sql;
    } catch (error) {
      throw queryError(error);
    }
    try {
      await this.writer.run(`CREATE ${replace ? 'OR REPLACE ' : ''}VIEW ${qualified(meta.datasetId, meta.tableId)} AS ${sql}`);
    } catch (error) {
      throw duckQueryError(error, sql);
    }
  }

  /**
   * tables.patch: additive schema changes become ALTER TABLE ADD COLUMN; a removed column, a type
   * change or a new REQUIRED column is refused as BigQuery refuses it.
   */
  patchTable(projectId: string, datasetId: string, tableId: string, body: Record<string, unknown>, ifMatch?: string): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      const meta = this.table(projectId, datasetId, tableId);
      const name = `${projectId}:${datasetId}.${tableId}`;
      if (ifMatch && ifMatch !== '*' && ifMatch !== this.etag(meta)) throw new ApiFailure(412, 'conditionNotMet', 'Precondition check failed.');
      const next: TableMeta = structuredClone(meta);
      const added: TableField[] = [];
      const schema = body.schema as { fields?: TableField[] } | undefined;
      if (schema?.fields && meta.type === 'TABLE') {
        const wanted = this.checkedFields(schema.fields);
        for (const old of meta.fields) {
          const want = wanted.find((f) => f.name.toLowerCase() === old.name.toLowerCase());
          if (!want) throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} is missing in new schema`);
          if (want.type !== old.type) throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed type from ${old.type} to ${want.type}`);
          if (old.mode === 'NULLABLE' && want.mode === 'REQUIRED') throw invalid(`Provided Schema does not match Table ${name}. Field ${old.name} has changed mode from NULLABLE to REQUIRED`);
        }
        for (const f of wanted) {
          if (meta.fields.some((old) => old.name.toLowerCase() === f.name.toLowerCase())) continue;
          if (f.mode === 'REQUIRED') throw invalid(`Provided Schema does not match Table ${name}. Cannot add required fields to an existing schema. (field: ${f.name})`);
          added.push(f);
        }
        // DuckDB keeps column order; new columns go last whatever their place in the request.
        next.fields = [...meta.fields.map((old) => wanted.find((f) => f.name.toLowerCase() === old.name.toLowerCase())!), ...added];
      }
      if (body.timePartitioning !== undefined && meta.type === 'TABLE') {
        const p = this.checkedPartitioning(next.fields, body.timePartitioning);
        if ((p?.field ?? '') !== (meta.timePartitioning?.field ?? '') || (p?.type ?? '') !== (meta.timePartitioning?.type ?? '')) {
          throw invalid(`Cannot change partitioning spec for table ${name}`);
        }
        next.timePartitioning = p;
      }
      if (body.clustering !== undefined && meta.type === 'TABLE') next.clustering = this.checkedClustering(next.fields, body.clustering);
      for (const key of ['description', 'labels', 'friendlyName', 'expirationTime'] as const) if (key in body) (next as unknown as Record<string, unknown>)[key] = body[key];
      const view = body.view as { query?: string; useLegacySql?: boolean } | undefined;
      if (view?.query !== undefined) {
        if (meta.type !== 'VIEW') throw invalid(`Cannot change a table into a view: ${name}`);
        next.view = { query: String(view.query), useLegacySql: view.useLegacySql ?? false };
        await this.createView(projectId, next, true);
      }
      if (added.length) {
        await this.writer.run('BEGIN TRANSACTION');
        try {
          for (const f of added) await this.writer.run(`ALTER TABLE ${qualified(datasetId, tableId)} ADD COLUMN ${quoteIdent(f.name)} ${duckColumnType(f)}`);
          await this.writer.run('COMMIT');
        } catch (error) {
          await this.writer.run('ROLLBACK');
          throw error;
        }
      }
      next.lastModifiedTime = String(Math.max(Date.now(), Number(meta.lastModifiedTime) + 1));
      await this.saveTable(next);
      return this.tableResource(next, projectId);
    });
  }

  deleteTable(projectId: string, datasetId: string, tableId: string): Promise<void> {
    return this.writeLock.run(async () => {
      const meta = this.table(projectId, datasetId, tableId);
      await this.writer.run(`DROP ${meta.type === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS ${qualified(datasetId, tableId)}`);
      await this.writer.run(`DELETE FROM ${META}.tables WHERE dataset_id = $1 AND table_id = $2`, [datasetId, tableId]);
      await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE table_key = $1`, [tableKey(datasetId, tableId)]);
      this.tables.delete(tableKey(datasetId, tableId));
      this.seen.delete(tableKey(datasetId, tableId));
    });
  }

  private async saveTable(meta: TableMeta): Promise<void> {
    await this.writer.run(`INSERT OR REPLACE INTO ${META}.tables VALUES ($1, $2, $3)`, [meta.datasetId, meta.tableId, JSON.stringify(meta)]);
    this.tables.set(tableKey(meta.datasetId, meta.tableId), meta);
  }

  // -------------------------------------------------------------------------------------------
  // tabledata.insertAll

  insertAll(projectId: string, datasetId: string, tableId: string, body: InsertAllRequest): Promise<{ kind: string; insertErrors?: InsertError[] }> {
    return this.writeLock.run(async () => {
      const meta = this.table(projectId, datasetId, tableId);
      if (meta.type !== 'TABLE') throw invalid(`Cannot insert into view ${projectId}:${datasetId}.${tableId}`);
      if (body.templateSuffix) throw invalid('unsupported locally: templateSuffix (template tables)');
      const rows = body.rows;
      if (!Array.isArray(rows) || rows.length === 0) throw invalid('No rows present in the request.');
      if (rows.length > 50_000) throw invalid(`too many rows present in the request, limit: 50000 row count: ${rows.length}.`);
      const fields = meta.fields;
      const index = new Map<string, number>();
      fields.forEach((f, k) => {
        index.set(f.name, k);
        index.set(f.name.toLowerCase(), k);
      });
      const insertErrors: InsertError[] = [];
      const good: { cells: Cell[]; insertId?: string }[] = [];
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
            const cell = coerceCell(fields[k], values[k]);
            if (isCellError(cell)) errors.push({ reason: 'invalid', debugInfo: '', ...cell });
            else cells[k] = cell;
          }
        }
        if (errors.length) insertErrors.push({ index: r, errors });
        else good.push({ cells, insertId: typeof rows[r].insertId === 'string' && rows[r].insertId ? rows[r].insertId : undefined });
      }
      if (insertErrors.length && !body.skipInvalidRows) {
        // BigQuery inserts nothing and marks the valid rows "stopped".
        const bad = new Set(insertErrors.map((e) => e.index));
        for (let r = 0; r < rows.length; r++) if (!bad.has(r)) insertErrors.push({ index: r, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] });
        insertErrors.sort((a, b) => a.index - b.index);
        return { kind: 'bigquery#tableDataInsertAllResponse', insertErrors };
      }
      await this.append(meta, good);
      return insertErrors.length ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors } : { kind: 'bigquery#tableDataInsertAllResponse' };
    });
  }

  /** Appends the rows whose insertId was not seen within the dedup window (a repeat is dropped silently). */
  private async append(meta: TableMeta, rows: { cells: Cell[]; insertId?: string }[]): Promise<void> {
    const key = tableKey(meta.datasetId, meta.tableId);
    const seen = await this.seenIds(key);
    const fresh = new Set<string>();
    const keep = rows.filter((row) => {
      if (row.insertId === undefined) return true;
      if (seen.has(row.insertId) || fresh.has(row.insertId)) return false;
      fresh.add(row.insertId);
      return true;
    });
    if (!keep.length) return;
    const appendCell = meta.fields.map((f) => cellAppender(f.type));
    await this.writer.run('BEGIN TRANSACTION');
    let appender: DuckDBAppender | undefined;
    try {
      appender = await this.writer.createAppender(meta.tableId, meta.datasetId);
      for (const row of keep) {
        for (let k = 0; k < row.cells.length; k++) {
          const cell = row.cells[k];
          if (cell === null) appender.appendNull();
          else appendCell[k](appender, cell);
        }
        appender.endRow();
      }
      appender.closeSync();
      appender = undefined;
      if (fresh.size) {
        const ids = await this.writer.createAppender('insert_ids', META);
        const at = new DuckDBTimestampTZValue(BigInt(Date.now()) * 1000n);
        for (const id of fresh) {
          ids.appendVarchar(key);
          ids.appendVarchar(id);
          ids.appendTimestampTZ(at);
          ids.endRow();
        }
        ids.closeSync();
      }
      await this.writer.run('COMMIT');
    } catch (error) {
      try {
        appender?.closeSync();
      } catch {
        // the appender failed already
      }
      await this.writer.run('ROLLBACK');
      throw error;
    }
    const at = Date.now();
    for (const id of fresh) seen.set(id, at);
    await this.prune();
  }

  private async seenIds(key: string): Promise<Map<string, number>> {
    let seen = this.seen.get(key);
    if (!seen) {
      seen = new Map();
      const since = new DuckDBTimestampTZValue(BigInt(Date.now() - this.dedupWindowMs) * 1000n);
      const result = await this.writer.runAndReadAll(`SELECT insert_id, epoch_ms(seen_at) FROM ${META}.insert_ids WHERE table_key = $1 AND seen_at >= $2 ORDER BY seen_at`, [key, since]);
      for (const [id, at] of result.getRows()) seen.set(String(id), Number(at));
      this.seen.set(key, seen);
    }
    return seen;
  }

  /** Forgets insertIds older than the dedup window, at most once a minute. */
  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    const cutoff = Date.now() - this.dedupWindowMs;
    for (const seen of this.seen.values()) {
      for (const [id, at] of seen) {
        if (at >= cutoff) break;
        seen.delete(id);
      }
    }
    await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE seen_at < $1`, [new DuckDBTimestampTZValue(BigInt(cutoff) * 1000n)]);
  }

  // -------------------------------------------------------------------------------------------
  // tabledata.list

  async listRows(projectId: string, datasetId: string, tableId: string, startIndex: number, maxResults: number): Promise<{ schema: { fields: ResultField[] }; rows: DuckDBValue[][]; totalRows: number }> {
    const meta = this.table(projectId, datasetId, tableId);
    if (meta.type !== 'TABLE') throw invalid(`Cannot list rows of view ${projectId}:${datasetId}.${tableId}`);
    return this.readLock.run(async () => {
      const [[total]] = (await this.reader.runAndReadAll(`SELECT count(*) FROM ${qualified(datasetId, tableId)}`)).getRows();
      const reader = await this.reader.runAndReadAll(`SELECT * FROM ${qualified(datasetId, tableId)} ORDER BY rowid LIMIT ${Math.max(0, maxResults)} OFFSET ${Math.max(0, startIndex)}`);
      const fields = meta.fields.map((f) => ({ name: f.name, type: f.type, mode: 'NULLABLE' as const }));
      return { schema: { fields }, rows: reader.getRows(), totalRows: Number(total) };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  async query(projectId: string, request: QueryRequest): Promise<QueryResult> {
    if (request.useLegacySql) throw invalidQuery('unsupported locally: legacy SQL (set useLegacySql: false)');
    if (request.destinationTable) throw invalidQuery('unsupported locally: query destination tables');
    const text = request.query;
    if (typeof text !== 'string' || !text.trim()) throw invalid('Query text is required.');
    const defaultDataset = request.defaultDataset?.datasetId;
    let sql: string;
    let parameters: string[];
    try {
      ({ sql, parameters } = translateQuery(text, {
        onTable: (dataset, table) => {
          const ds = dataset ?? defaultDataset;
          if (!ds) throw invalidQuery(`Table "${table}" must be qualified with a dataset (e.g. dataset.table).`);
          this.table(projectId, ds, table);
        },
      }));
    } catch (error) {
      throw queryError(error);
    }
    const values = bindParameters(request, parameters);
    if (request.dryRun) return { schema: { fields: [] }, rows: [], statementType: 'SELECT' };
    return this.readLock.run(async () => {
      if (defaultDataset) {
        this.dataset(projectId, defaultDataset);
        await this.reader.run(`SET search_path = '${defaultDataset}'`);
      } else await this.reader.run('RESET search_path');
      try {
        const reader = await this.reader.runAndReadAll(sql, values);
        const types = reader.columnTypes();
        const fields = reader.columnNames().map((name, k) => resultField(name, types[k]));
        return { schema: { fields }, rows: reader.getRows() as DuckDBValue[][], statementType: 'SELECT' };
      } catch (error) {
        throw duckQueryError(error, sql);
      }
    });
  }
}

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

/** Query parameters (@name or ?) -> DuckDB values. */
function bindParameters(request: QueryRequest, names: string[]): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  const params = request.queryParameters ?? [];
  const convert = (p: (typeof params)[number]): DuckDBValue => {
    const type = String(p.parameterType?.type ?? 'STRING').toUpperCase();
    const raw = p.parameterValue?.value;
    if (raw === null || raw === undefined) return null;
    const value = String(raw);
    switch (type) {
      case 'INT64':
      case 'INTEGER':
        if (!/^[+-]?\d+$/.test(value)) throw invalidQuery(`Query parameter ${p.name ?? ''} is not an INT64: ${value}`);
        return BigInt(value);
      case 'FLOAT64':
      case 'FLOAT':
      case 'NUMERIC':
        return Number(value);
      case 'BOOL':
      case 'BOOLEAN':
        return value.toLowerCase() === 'true';
      case 'STRING':
      case 'JSON':
        return value;
      case 'TIMESTAMP': {
        const micros = parseTimestampMicros(value.replace(/\s*\+00(:00)?$/, 'Z'));
        if (micros === undefined) throw invalidQuery(`Query parameter ${p.name ?? ''} is not a TIMESTAMP: ${value}`);
        return new DuckDBTimestampTZValue(micros);
      }
      case 'DATE': {
        const micros = parseTimestampMicros(value, false);
        if (micros === undefined) throw invalidQuery(`Query parameter ${p.name ?? ''} is not a DATE: ${value}`);
        return new DuckDBDateValue(Number(micros / 86_400_000_000n));
      }
      default:
        throw invalidQuery(`unsupported locally: query parameters of type ${type}`);
    }
  };
  if (names.length) {
    const byName: Record<string, DuckDBValue> = {};
    for (const name of names) {
      const p = params.find((q) => q.name?.toLowerCase() === name.toLowerCase());
      if (!p) throw invalidQuery(`Query parameter '${name}' not found`);
      byName[name] = convert(p);
    }
    return byName;
  }
  return params.length ? params.map(convert) : undefined;
}

/** Translator failures -> BigQuery-shaped 400s. */
function queryError(error: unknown): unknown {
  if (error instanceof ApiFailure) return error;
  if (error instanceof UnsupportedLocallyError) return invalidQuery(error.message);
  if (error instanceof SyntaxError) return invalidQuery(`Syntax error: ${error.message}`);
  return error;
}

/**
 * DuckDB failures: parser, binder and catalog errors mean the translation did not produce something
 * DuckDB runs (a BigQuery feature the translator does not cover); runtime errors (a bad cast, a
 * division...) are the query's own.
 */
function duckQueryError(error: unknown, sql: string): ApiFailure {
  const message = (error as Error).message ?? String(error);
  const first = message.split('\n')[0];
  const table = /^Catalog Error: Table with name (\S+) does not exist/.exec(first);
  if (table) return notFound(`Table ${table[1]}`);
  if (/(Parser|Binder|Catalog|Not implemented|Syntax) Error/i.test(first)) {
    return invalidQuery(`unsupported locally: DuckDB cannot run this query as translated (${first}). Translated SQL: ${sql}`);
  }
  return invalidQuery(first);
}

export const encodeRows = (fields: ResultField[], rows: DuckDBValue[][], int64Timestamp: boolean) =>
  rows.map((row) => ({ f: row.map((value, k) => ({ v: encodeCell(fields[k], value, { int64Timestamp }) })) }));
