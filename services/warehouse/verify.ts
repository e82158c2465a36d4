/**
 * Who creates the warehouse's tables:
 *
 *   create  the service makes them match the spec at start (tables.ts). The local endpoint and tests:
 *           nobody else creates them there.
 *   verify  in GCP the tables belong to the deployment (infra/warehouse.ts). Creating them from the
 *           service as well raced Pulumi on a first `pulumi up` (403 before the service's fresh grant
 *           propagated, 409 when Pulumi's create came second). The service only checks that each
 *           table exists with the spec's columns, and waits (backoff, readiness false, a log line naming
 *           the table) until it does. It never creates or alters anything.
 *
 * Verify reads each table with tables.get (`GET .../datasets/<d>/tables/<t>`) and nothing else: no
 * datasets.get, no project-level call. The warehouse's account has `bigquery.dataEditor` on the
 * dataset only, which includes bigquery.tables.get
 * (https://cloud.google.com/bigquery/docs/access-control#bigquery.dataEditor).
 */
import type { BigQuery, Dataset, Table, TableField } from '@google-cloud/bigquery';
import type { MeshSpec } from '../../shared/spec';
import {
  bigquerySubscriptionTableSchema,
  DEAD_LETTERS_TABLE,
  deadLettersTableSchema,
  eventsDedupViewName,
  eventsTableName,
  eventsTableSchema,
  type BigQueryField,
} from '../../shared/warehouse';
import { bigqueryConsumers } from './archive';
import { IncompatibleSchemaError, planSchemaChange, type WarehouseTables } from './tables';

export type TablesMode = 'create' | 'verify';

/** Env MESH_WAREHOUSE_TABLES; when unset, create on the local endpoint and verify against BigQuery. */
export const TABLES_MODE_ENV = 'MESH_WAREHOUSE_TABLES';

/** The default for a client: create when it talks to something other than Google's BigQuery API. */
export function defaultTablesMode(bigquery: BigQuery): TablesMode {
  // Service.apiEndpoint (@google-cloud/common): public, read-only.
  const endpoint = bigquery.apiEndpoint ?? '';
  return /^https:\/\/bigquery\.googleapis\.com\/?$/.test(endpoint) || endpoint === '' ? 'verify' : 'create';
}

export type NotReadyReason = 'missing' | 'forbidden' | 'columns-missing' | 'unavailable';

/** A table the service needs is not usable yet; verify waits and tries again. */
export class TableNotReadyError extends Error {
  override readonly name = 'TableNotReadyError';
  constructor(
    /** dataset.table */
    readonly table: string,
    readonly reason: NotReadyReason,
    detail: string,
  ) {
    super(`table ${table} is not ready (${reason}): ${detail}`);
  }
}

interface Wanted {
  id: string;
  /** Columns the table must have; undefined for views (only their existence matters). */
  fields?: BigQueryField[];
}

const code = (error: unknown) => Number((error as { code?: unknown }).code);

/** One look at one table: its columns, or TableNotReadyError / IncompatibleSchemaError. */
async function verifyTable(dataset: Dataset, wanted: Wanted): Promise<Table> {
  const name = `${dataset.id}.${wanted.id}`;
  const table = dataset.table(wanted.id);
  let metadata: { schema?: { fields?: TableField[] } };
  try {
    [metadata] = await table.getMetadata();
  } catch (error) {
    const status = code(error);
    const message = (error as Error).message;
    // 404: not created yet (or the dataset is not). 403: our grant has not propagated yet.
    if (status === 404) throw new TableNotReadyError(name, 'missing', `404 ${message}; the deployment (pulumi up) creates it`);
    if (status === 403) throw new TableNotReadyError(name, 'forbidden', `403 ${message}; IAM grants can take minutes to propagate`);
    if (!status || status === 429 || status >= 500) throw new TableNotReadyError(name, 'unavailable', message);
    throw error;
  }
  if (!wanted.fields) return table;
  const plan = planSchemaChange(metadata.schema?.fields ?? [], wanted.fields);
  // Removed or retyped columns never fix themselves: fail, as create mode does.
  if (plan.problems.length) throw new IncompatibleSchemaError(name, plan.problems);
  // New columns of a new schema revision: the deployment adds them (same `pulumi up`).
  if (plan.add.length)
    throw new TableNotReadyError(
      name,
      'columns-missing',
      `no column${plan.add.length > 1 ? 's' : ''} ${plan.add.map((f) => f.name).join(', ')} yet; the deployment adds them`,
    );
  return table;
}

export interface VerifiedWarehouse {
  tables: WarehouseTables;
  /** BigQuery-kind consumers' tables, when they are drained here (archive). */
  archive: Record<string, Table>;
}

/** Checks every table once, in a stable order; throws for the first one not ready. */
export async function verifyWarehouse(bigquery: BigQuery, spec: MeshSpec, options: { archive?: boolean } = {}): Promise<VerifiedWarehouse> {
  const dataset = bigquery.dataset(spec.warehouse.dataset, { location: spec.warehouse.location });
  const tables: WarehouseTables = { dataset, events: {}, dedupViews: {}, deadLetters: dataset.table(DEAD_LETTERS_TABLE), changes: [] };
  const check = async (wanted: Wanted) => {
    const table = await verifyTable(dataset, wanted);
    tables.changes.push({ table: wanted.id, action: 'unchanged' });
    return table;
  };
  for (const topic of Object.values(spec.topics)) {
    tables.events[topic.name] = await check({ id: eventsTableName(topic.name), fields: eventsTableSchema(topic) });
    tables.dedupViews[topic.name] = await check({ id: eventsDedupViewName(topic.name) });
  }
  tables.deadLetters = await check({ id: DEAD_LETTERS_TABLE, fields: deadLettersTableSchema() });
  const archive: Record<string, Table> = {};
  if (options.archive) for (const c of bigqueryConsumers(spec)) archive[c.table!] ??= await check({ id: c.table!, fields: bigquerySubscriptionTableSchema() });
  return { tables, archive };
}

export interface WaitOptions {
  archive?: boolean;
  /** First pause between checks; doubles up to maxDelayMs. Default 1000 / 30000 ms. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up (reject with the last TableNotReadyError) after this long. Default 15 minutes. */
  timeoutMs?: number;
  /** Aborting stops the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called before each pause with why the tables are not ready. */
  onWait?: (error: TableNotReadyError, attempt: number, delayMs: number) => void;
}

/** Longer than IAM's documented worst case (7 minutes) plus a slow `pulumi up`. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 15 * 60_000;

/** verifyWarehouse until every table is there (IncompatibleSchemaError and other errors end it at once). */
export async function waitForWarehouse(bigquery: BigQuery, spec: MeshSpec, options: WaitOptions = {}): Promise<VerifiedWarehouse> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS);
  let delay = options.initialDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await verifyWarehouse(bigquery, spec, { archive: options.archive });
    } catch (error) {
      if (!(error instanceof TableNotReadyError) || Date.now() + delay > deadline) throw error;
      options.onWait?.(error, attempt, delay);
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 30_000);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
