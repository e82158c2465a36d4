/**
 * The DuckDB side of the local BigQuery endpoint. Datasets are DuckDB schemas, tables are DuckDB
 * tables, views are DuckDB views of the translated query. Table metadata (the BigQuery schema with
 * its modes and descriptions, partitioning, clustering, the view's BigQuery SQL, labels) and the
 * insertIds seen recently are stored in DuckDB too, so a restart on the same file keeps everything
 * (catalog.ts, metadata.ts, insert-ids.ts). Checks BigQuery makes are in table-schema.ts and insert-rows.ts,
 * what a query needs besides running it in queries.ts.
 *
 * Writes (DDL and insertAll) go through one connection, one at a time; queries through another
 * (connections.ts).
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { ApiFailure, alreadyExists, invalid, invalidQuery, UnsupportedLocallyError } from '../errors';
import { quoteIdent, translateQuery } from '../sql';
import { resultField, type ResultField, type TableField } from '../values';
import { nullElementField } from '../values/nested';
import { Catalog } from './catalog';
import { Mutex, openDuckDbFile } from './connections';
import { InsertIdWindow } from './insert-ids';
import { appendRows, checkedRows, type InsertAllRequest, type InsertError, type RowToAppend } from './insert-rows';
import {
  datasetList,
  datasetResource,
  ID,
  META,
  now,
  qualified,
  tableEtag,
  tableKey,
  tableList,
  tableResource,
  type DatasetMeta,
  type TableMeta,
} from './metadata';
import { boundParameters } from './parameters';
import { duckQueryError, queryError, type QueryRequest, type QueryResult } from './queries';
import { checkedClustering, checkedFields, checkedPartitioning, duckColumnType, patchedFields } from './table-schema';

export type { InsertAllRequest, InsertError } from './insert-rows';
export { encodeRows, type QueryRequest, type QueryResult } from './queries';

export interface StoreOptions {
  /** DuckDB database file, or ':memory:'. */
  dataFile: string;
  /** How long an insertId is remembered for dedup (BigQuery: best effort, at least a minute). Default 1 hour. */
  dedupWindowSeconds?: number;
}

/** A table's field as tabledata.list encodes it (REQUIRED is NULLABLE there; REPEATED and RECORD kept). */
const asResultField = (f: TableField): ResultField => ({
  name: f.name,
  type: f.type,
  mode: f.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE',
  ...(f.fields && { fields: f.fields.map(asResultField) }),
});

export class LocalBigQueryStore {
  private readonly insertIds: InsertIdWindow;
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();

  private constructor(
    private readonly catalog: Catalog,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    options: StoreOptions,
  ) {
    this.insertIds = new InsertIdWindow(writer, (options.dedupWindowSeconds ?? 3600) * 1000);
  }

  static async open(options: StoreOptions): Promise<LocalBigQueryStore> {
    const { instance, writer, reader } = await openDuckDbFile(options.dataFile);
    return new LocalBigQueryStore(await Catalog.load(writer), instance, writer, reader, options);
  }

  close(): void {
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }

  // -------------------------------------------------------------------------------------------
  // Datasets

  getDataset(projectId: string, datasetId: string): Record<string, unknown> {
    return datasetResource(this.catalog.dataset(projectId, datasetId), projectId);
  }

  listDatasets(projectId: string): Record<string, unknown> {
    return datasetList(this.catalog.allDatasets(), projectId);
  }

  createDataset(projectId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      const ref = (body.datasetReference ?? {}) as { datasetId?: string };
      const datasetId = ref.datasetId ?? '';
      if (!ID.test(datasetId) || datasetId === META)
        throw invalid(`Invalid dataset ID "${datasetId}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`);
      if (this.catalog.hasDataset(datasetId)) throw alreadyExists(`Dataset ${projectId}:${datasetId}`);
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
      await this.catalog.saveDataset(meta);
      return datasetResource(meta, projectId);
    });
  }

  patchDataset(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      const meta = this.catalog.dataset(projectId, datasetId);
      for (const key of ['description', 'friendlyName', 'labels'] as const) if (key in body) (meta as unknown as Record<string, unknown>)[key] = body[key];
      meta.lastModifiedTime = now();
      await this.catalog.saveDataset(meta);
      return datasetResource(meta, projectId);
    });
  }

  deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): Promise<void> {
    return this.writeLock.run(async () => {
      this.catalog.dataset(projectId, datasetId);
      const contents = this.catalog.tablesIn(datasetId);
      if (contents.length && !deleteContents) throw new ApiFailure(400, 'resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
      await this.writer.run(`DROP SCHEMA IF EXISTS ${quoteIdent(datasetId)} CASCADE`);
      await this.catalog.deleteDataset(datasetId, contents);
      for (const t of contents) this.insertIds.forget(tableKey(t.datasetId, t.tableId));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Tables and views

  private async tableResource(meta: TableMeta, projectId: string): Promise<Record<string, unknown>> {
    const location = this.catalog.locationOf(meta.datasetId);
    if (meta.type === 'VIEW') return tableResource(meta, projectId, location, await this.viewFields(meta));
    const [[count]] = (await this.readLock.run(() => this.reader.runAndReadAll(`SELECT count(*) FROM ${qualified(meta.datasetId, meta.tableId)}`))).getRows();
    return tableResource(meta, projectId, location, meta.fields, String(count));
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
    return this.tableResource(this.catalog.table(projectId, datasetId, tableId), projectId);
  }

  listTables(projectId: string, datasetId: string): Record<string, unknown> {
    this.catalog.dataset(projectId, datasetId);
    return tableList(this.catalog.tablesIn(datasetId), projectId);
  }

  createTable(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.writeLock.run(async () => {
      this.catalog.dataset(projectId, datasetId);
      const ref = (body.tableReference ?? {}) as { tableId?: string; datasetId?: string };
      const tableId = ref.tableId ?? '';
      if (!ID.test(tableId)) throw invalid(`Invalid table ID "${tableId}".`);
      if (this.catalog.hasTable(datasetId, tableId)) throw alreadyExists(`Table ${projectId}:${datasetId}.${tableId}`);
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
        meta.fields = checkedFields((body.schema as { fields?: TableField[] } | undefined)?.fields);
        meta.timePartitioning = checkedPartitioning(meta.fields, body.timePartitioning);
        meta.clustering = checkedClustering(meta.fields, body.clustering);
        const columns = meta.fields.map((f) => `${quoteIdent(f.name)} ${duckColumnType(f)}`);
        // DuckDB needs at least one column; BigQuery allows schemaless tables (the first patch adds columns).
        if (!columns.length) throw new UnsupportedLocallyError('tables without a schema');
        await this.writer.run(`CREATE TABLE ${qualified(datasetId, tableId)} (${columns.join(', ')})`);
      }
      await this.catalog.saveTable(meta);
      return this.tableResource(meta, projectId);
    });
  }

  /** CREATE VIEW from the BigQuery query; every table it reads must exist (as BigQuery checks). */
  private async createView(projectId: string, meta: TableMeta, replace: boolean): Promise<void> {
    if (meta.view!.useLegacySql) throw invalid('unsupported locally: legacy SQL views');
    let sql: string;
    try {
      sql = translateQuery(meta.view!.query, {
        onTable: (dataset, table) => {
          if (!dataset) throw invalidQuery(`Table "${table}" must be qualified with a dataset (e.g. dataset.table).`);
          this.catalog.table(projectId, dataset, table);
        },
        tableColumns: (dataset, table) => {
          const meta = dataset && this.catalog.hasTable(dataset, table) ? this.catalog.table(projectId, dataset, table) : undefined;
          return meta?.type === 'TABLE' ? meta.fields : undefined;
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
      const meta = this.catalog.table(projectId, datasetId, tableId);
      const name = `${projectId}:${datasetId}.${tableId}`;
      if (ifMatch && ifMatch !== '*' && ifMatch !== tableEtag(meta)) throw new ApiFailure(412, 'conditionNotMet', 'Precondition check failed.');
      const next: TableMeta = structuredClone(meta);
      let added: TableField[] = [];
      const schema = body.schema as { fields?: TableField[] } | undefined;
      if (schema?.fields && meta.type === 'TABLE') ({ fields: next.fields, added } = patchedFields(meta.fields, schema.fields, name));
      if (body.timePartitioning !== undefined && meta.type === 'TABLE') {
        const p = checkedPartitioning(next.fields, body.timePartitioning);
        if ((p?.field ?? '') !== (meta.timePartitioning?.field ?? '') || (p?.type ?? '') !== (meta.timePartitioning?.type ?? '')) {
          throw invalid(`Cannot change partitioning spec for table ${name}`);
        }
        next.timePartitioning = p;
      }
      if (body.clustering !== undefined && meta.type === 'TABLE') next.clustering = checkedClustering(next.fields, body.clustering);
      for (const key of ['description', 'labels', 'friendlyName', 'expirationTime'] as const)
        if (key in body) (next as unknown as Record<string, unknown>)[key] = body[key];
      const view = body.view as { query?: string; useLegacySql?: boolean } | undefined;
      if (view?.query !== undefined) {
        if (meta.type !== 'VIEW') throw invalid(`Cannot change a table into a view: ${name}`);
        next.view = { query: String(view.query), useLegacySql: view.useLegacySql ?? false };
        await this.createView(projectId, next, true);
      }
      if (added.length) {
        // The rows already there read an added REPEATED column as [] (BigQuery has no NULL arrays), in SQL too.
        await this.writer.run('BEGIN TRANSACTION');
        try {
          for (const f of added) await this.writer.run(`ALTER TABLE ${qualified(datasetId, tableId)} ADD COLUMN ${quoteIdent(f.name)} ${duckColumnType(f)}`);
          // (an UPDATE: a DEFAULT [] column and a second ADD COLUMN in one transaction fail to commit in DuckDB)
          for (const f of added.filter((a) => a.mode === 'REPEATED'))
            await this.writer.run(`UPDATE ${qualified(datasetId, tableId)} SET ${quoteIdent(f.name)} = [] WHERE ${quoteIdent(f.name)} IS NULL`);
          await this.writer.run('COMMIT');
        } catch (error) {
          // A failed COMMIT has ended the transaction already: the error to report is the first one.
          await this.writer.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      next.lastModifiedTime = String(Math.max(Date.now(), Number(meta.lastModifiedTime) + 1));
      await this.catalog.saveTable(next);
      return this.tableResource(next, projectId);
    });
  }

  deleteTable(projectId: string, datasetId: string, tableId: string): Promise<void> {
    return this.writeLock.run(async () => {
      const meta = this.catalog.table(projectId, datasetId, tableId);
      await this.writer.run(`DROP ${meta.type === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS ${qualified(datasetId, tableId)}`);
      await this.catalog.deleteTable(datasetId, tableId);
      this.insertIds.forget(tableKey(datasetId, tableId));
    });
  }

  // -------------------------------------------------------------------------------------------
  // tabledata.insertAll

  insertAll(projectId: string, datasetId: string, tableId: string, body: InsertAllRequest): Promise<{ kind: string; insertErrors?: InsertError[] }> {
    return this.writeLock.run(async () => {
      const meta = this.catalog.table(projectId, datasetId, tableId);
      if (meta.type !== 'TABLE') throw invalid(`Cannot insert into view ${projectId}:${datasetId}.${tableId}`);
      const { rows, insertErrors, stopped } = checkedRows(meta.fields, body);
      if (!stopped) await this.append(meta, rows);
      return insertErrors.length ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors } : { kind: 'bigquery#tableDataInsertAllResponse' };
    });
  }

  /** Appends the rows whose insertId was not seen within the dedup window (a repeat is dropped silently). */
  private async append(meta: TableMeta, rows: RowToAppend[]): Promise<void> {
    const key = tableKey(meta.datasetId, meta.tableId);
    const fresh = await this.insertIds.unseen(key, rows);
    if (!fresh.rows.length) return;
    await this.writer.run('BEGIN TRANSACTION');
    let appender: DuckDBAppender | undefined;
    try {
      appender = await this.writer.createAppender(meta.tableId, meta.datasetId);
      appendRows(appender, meta.fields, fresh.rows);
      appender.closeSync();
      appender = undefined;
      await this.insertIds.write(key, fresh.ids);
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
    await this.insertIds.committed(key, fresh.ids);
  }

  // -------------------------------------------------------------------------------------------
  // tabledata.list

  async listRows(
    projectId: string,
    datasetId: string,
    tableId: string,
    startIndex: number,
    maxResults: number,
  ): Promise<{ schema: { fields: ResultField[] }; rows: DuckDBValue[][]; totalRows: number }> {
    const meta = this.catalog.table(projectId, datasetId, tableId);
    if (meta.type !== 'TABLE') throw invalid(`Cannot list rows of view ${projectId}:${datasetId}.${tableId}`);
    return this.readLock.run(async () => {
      const [[total]] = (await this.reader.runAndReadAll(`SELECT count(*) FROM ${qualified(datasetId, tableId)}`)).getRows();
      const reader = await this.reader.runAndReadAll(
        `SELECT * FROM ${qualified(datasetId, tableId)} ORDER BY rowid LIMIT ${Math.max(0, maxResults)} OFFSET ${Math.max(0, startIndex)}`,
      );
      const fields = meta.fields.map(asResultField);
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
          this.catalog.table(projectId, ds, table);
        },
        tableColumns: (dataset, table) => {
          const ds = dataset ?? defaultDataset;
          const meta = ds && this.catalog.hasTable(ds, table) ? this.catalog.table(projectId, ds, table) : undefined;
          return meta?.type === 'TABLE' ? meta.fields : undefined;
        },
      }));
    } catch (error) {
      throw queryError(error);
    }
    const { values, types } = boundParameters(request.queryParameters ?? [], parameters);
    if (request.dryRun) return { schema: { fields: [] }, rows: [], statementType: 'SELECT' };
    return this.readLock.run(async () => {
      if (defaultDataset) {
        this.catalog.dataset(projectId, defaultDataset);
        await this.reader.run(`SET search_path = '${defaultDataset}'`);
      } else await this.reader.run('RESET search_path');
      try {
        const reader = await this.reader.runAndReadAll(sql, values, types);
        const columnTypes = reader.columnTypes();
        const fields = reader.columnNames().map((name, k) => resultField(name, columnTypes[k]));
        const rows = reader.getRows();
        const nullElement = nullElementField(fields, rows);
        if (nullElement) throw invalidQuery(`Array cannot have a null element; error in writing field ${nullElement}`);
        return { schema: { fields }, rows, statementType: 'SELECT' };
      } catch (error) {
        if (error instanceof ApiFailure) throw error;
        throw duckQueryError(error, sql);
      }
    });
  }
}
