/**
 * Builds the warehouse service without listening: tests drive it with `start(0)`; index.ts starts it
 * from the environment.
 *
 * start() first gets the tables (verify.ts says who creates them):
 * - create (local endpoint): makes BigQuery match the spec (dataset, events tables with the current
 *   schema revision's columns, dedup views, dead_letters);
 * - verify (GCP, where the deployment owns them): listens at once with /readyz 503 naming the table
 *   it waits for, checks the tables with backoff until they are all there, then hands the port to the
 *   service. Listening early keeps Cloud Run's startup probe (TCP on the port) from failing the
 *   revision while IAM or `pulumi up` catches up.
 * An incompatible schema change stops the start with IncompatibleSchemaError in both modes. Then the
 * pull consumers open. stop() writes the rows already buffered at once, so the graceful shutdown
 * acks everything it can before the deadline.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BigQuery, Table } from '@google-cloud/bigquery';
import { createLogger, createMeshService, serviceOptionsFrom, type MeshService, type ServiceAppOptions } from '../../shared/consumer';
import { ArchiveDrain, bigqueryConsumers, ensureArchiveTables } from './archive';
import { DeadLetterArchive } from './dead-letter-archive';
import type { BatcherOptions } from './batcher';
import { SERVICE_NAME, warehouseHandlers } from './handlers';
import { WarehouseLoader } from './loader';
import type { InsertOptions } from './rows';
import { ensureWarehouse, type TableChange, type WarehouseTables } from './tables';
import { defaultTablesMode, TABLES_MODE_ENV, waitForWarehouse, type TablesMode, type TableNotReadyError, type WaitOptions } from './verify';

export interface WarehouseAppOptions extends ServiceAppOptions {
  /** Pointed at BigQuery, or at the local endpoint (`apiEndpoint` / BIGQUERY_EMULATOR_HOST). */
  bigquery: BigQuery;
  /** Project the dedup views name their tables in; default the client's project. */
  bigqueryProject?: string;
  /**
   * Also drain the spec's BigQuery-kind consumers into their tables (archive.ts). Only for the local
   * endpoint: in GCP Pub/Sub writes them itself and their subscriptions are not pullable. Default false.
   */
  archiveBigQuerySubscriptions?: boolean;
  /**
   * Copy every consumer's dead letters from `<c>-dlq-archive` into dead_letters
   * (dead-letter-archive.ts), locally and in GCP. Default true.
   */
  archiveDeadLetters?: boolean;
  /** Rows per batch, bytes, delay, writes at once; defaults in BatcherOptions. */
  batch?: BatcherOptions;
  /** insertAll request sizes; defaults in InsertOptions. */
  insert?: InsertOptions;
  /** Create the tables, or verify the deployment's (verify.ts). Default: defaultTablesMode(bigquery). */
  tables?: TablesMode;
  /** verify: backoff and give-up time of the wait for the tables. */
  verify?: Pick<WaitOptions, 'initialDelayMs' | 'maxDelayMs' | 'timeoutMs'>;
}

export interface WarehouseApp extends MeshService {
  readonly loader: WarehouseLoader;
  /** Drains BigQuery-kind consumers (archiveBigQuerySubscriptions), else undefined. */
  readonly archive: ArchiveDrain | undefined;
  /** Copies dead letters into dead_letters (archiveDeadLetters), else undefined. */
  readonly deadLetterArchive: DeadLetterArchive | undefined;
  /** Once started: the tables written to, and what start() changed in them. */
  readonly tables: WarehouseTables | undefined;
  readonly tableChanges: TableChange[];
  readonly tablesMode: TablesMode;
  /** verify: the table start() is waiting for, if any. */
  readonly waitingFor: { table: string; reason: string; message: string; attempts: number; since: string } | undefined;
}

/** One table as GET /tables shows it. */
export interface TableSummary {
  table: string;
  kind: 'events' | 'dedup-view' | 'dead-letters' | 'archive';
  /** Stored rows plus BigQuery's estimate of rows still in the streaming buffer; views have none. */
  rows?: number;
  columns?: number;
}

export function createWarehouseApp(options: WarehouseAppOptions): WarehouseApp {
  const { spec } = options;
  const log = options.log ?? createLogger({ service: SERVICE_NAME });
  const loader = new WarehouseLoader({ spec, batch: options.batch, insert: options.insert, log });

  let tables: WarehouseTables | undefined;
  let archiveTables: Record<string, Table> = {};
  const tableChanges: TableChange[] = [];
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8000;
  const tablesMode = options.tables ?? defaultTablesMode(options.bigquery);
  let waitingFor: WarehouseApp['waitingFor'];
  let waitingServer: http.Server | undefined;
  let serviceStarted = false;
  const abortWait = new AbortController();

  const handlers = warehouseHandlers(spec, loader);
  const service = createMeshService({
    ...serviceOptionsFrom(options, SERVICE_NAME, handlers),
    log,
    shutdownTimeoutMs,
    // No handler deadline by default: a handler waits for its row's batch insert, which the loader bounds
    // and fails itself; a deadline would free the row's flow-control slot while the row stays pending,
    // and the pending rows would outgrow flow control (test "stops pulling at the flow control limit").
    handlerTimeoutMs: options.handlerTimeoutMs ?? 0,
    // Not ready while BigQuery does not answer; datasets.get is in the dataEditor role it holds on the dataset.
    dependencies: { bigquery: () => options.bigquery.dataset(spec.warehouse.dataset).getMetadata() },
    extraStatsConsumers: options.archiveBigQuerySubscriptions ? bigqueryConsumers(spec).map((c) => c.name) : [],
    routes: (app) => {
      // Read-only views for people and scripts.
      app.get('/tables', async (_req, res) => {
        if (!tables) return void res.status(503).json({ error: 'the warehouse tables are not prepared yet' });
        try {
          res.json({ dataset: spec.warehouse.dataset, tables: await summarize(tables, archiveTables) });
        } catch (error) {
          res.status(502).json({ error: `BigQuery: ${(error as Error).message}` });
        }
      });
      app.get('/loader', (_req, res) => {
        res.json({ pendingRows: loader.pending, tables: loader.stats(), archive: archive?.stats() ?? {}, deadLetterArchive: deadLetterArchive?.stats() ?? {} });
      });
    },
  });

  // After the service: the drain reports into its /stats and /stats/acks.
  const archive = options.archiveBigQuerySubscriptions
    ? new ArchiveDrain({
        spec,
        pubsub: options.pubsub,
        loader,
        log,
        maxStreams: options.maxStreams,
        pullTransport: options.pullTransport,
        stats: service.stats,
      })
    : undefined;

  // Not part of readiness: the events path does not wait on it, and a stalled archive has its own
  // alert (infra/triage-alerts.ts archive-stalled); the dead letters wait in the hold meanwhile.
  const deadLetterArchive =
    (options.archiveDeadLetters ?? true)
      ? new DeadLetterArchive({ spec, pubsub: options.pubsub, loader, log, pullTransport: options.pullTransport })
      : undefined;

  let stopping: Promise<void> | undefined;
  const warehouse: WarehouseApp = {
    name: service.name,
    app: service.app,
    listener: service.listener,
    stats: service.stats,
    pipelines: service.pipelines,
    loader,
    archive,
    deadLetterArchive,
    get tables() {
      return tables;
    },
    tableChanges,
    tablesMode,
    get waitingFor() {
      return waitingFor;
    },
    get ready() {
      return Boolean(tables) && service.ready && (archive?.ready ?? true);
    },
    get server() {
      return service.server ?? waitingServer;
    },
    async start(port?: number, host?: string) {
      let listenPort = port ?? spec.services[SERVICE_NAME]?.localPort;
      if (tablesMode === 'create') {
        const ensured = await ensureWarehouse(options.bigquery, spec, { project: options.bigqueryProject, log: (line) => log.info(line) });
        tableChanges.push(...ensured.changes);
        if (archive) {
          const made = await ensureArchiveTables(ensured.dataset, spec);
          archiveTables = made.tables;
          tableChanges.push(...made.changes);
          for (const change of made.changes) if (change.action !== 'unchanged') log.info(`warehouse: ${change.table} ${change.action}`);
        }
        tables = ensured;
      } else {
        waitingServer = await listenWhileWaiting(listenPort, host, () => ({
          ready: false,
          service: SERVICE_NAME,
          tables: 'verify',
          waitingFor: waitingFor ?? 'checking',
        }));
        listenPort = (waitingServer.address() as AddressInfo).port;
        let verified;
        try {
          verified = await waitForWarehouse(options.bigquery, spec, {
            ...options.verify,
            archive: Boolean(archive),
            signal: abortWait.signal,
            onWait: (error: TableNotReadyError, attempt, delayMs) => {
              waitingFor = {
                table: error.table,
                reason: error.reason,
                message: error.message,
                attempts: attempt,
                since: waitingFor?.since ?? new Date().toISOString(),
              };
              log.warn(
                { table: error.table, reason: error.reason, attempt, retryInMs: delayMs },
                `warehouse: waiting for table ${error.table} (${error.reason}): ${error.message}. The deployment owns the tables (${TABLES_MODE_ENV}=verify); not ready until it exists`,
              );
            },
          });
        } catch (error) {
          // stop() while waiting (SIGTERM): a normal end, not a failed start.
          if (abortWait.signal.aborted) return listenPort;
          throw error;
        } finally {
          // The service listens on the same port next; the gap is one close/listen.
          await closeServer(waitingServer);
          waitingServer = undefined;
        }
        tableChanges.push(...verified.tables.changes);
        archiveTables = verified.archive;
        tables = verified.tables;
        if (waitingFor) log.info({ waitedFor: waitingFor }, 'warehouse: every table is there');
        waitingFor = undefined;
        if (abortWait.signal.aborted) return listenPort; // stopped just as the tables appeared
      }
      loader.use(tables, archiveTables);
      serviceStarted = true;
      const bound = await service.start(listenPort, host);
      if (archive) {
        await archive.start();
        log.info(
          { consumers: archive.consumers.map((c) => `${c.name} -> ${c.table}`) },
          'draining BigQuery-kind consumers locally (the emulator does not write BigQuery subscriptions)',
        );
      }
      await deadLetterArchive?.start();
      return bound;
    },
    stop() {
      stopping ??= (async () => {
        // Still waiting for the tables: nothing was pulled, nothing to flush.
        abortWait.abort(new Error('the warehouse is stopping'));
        if (!serviceStarted) return;
        // Handlers wait on their batch: write it now instead of after maxDelayMs.
        loader.flushEagerly();
        const drainMs = Math.max(500, shutdownTimeoutMs - 1500);
        await Promise.all([service.stop(), archive?.stop(drainMs), deadLetterArchive?.stop(drainMs)]);
        await loader.idle();
      })();
      return stopping;
    },
  };
  return warehouse;
}

/** While verify waits for the tables: /healthz 200 (alive), everything else 503 with the reason. */
async function listenWhileWaiting(port: number | undefined, host: string | undefined, status: () => object): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const alive = req.url === '/healthz';
    res.writeHead(alive ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(alive ? { status: 'ok', service: SERVICE_NAME } : status()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

async function summarize(tables: WarehouseTables, archive: Record<string, Table>): Promise<TableSummary[]> {
  const entries: [Table, TableSummary['kind']][] = [
    ...Object.values(tables.events).map((t) => [t, 'events'] as [Table, TableSummary['kind']]),
    ...Object.values(tables.dedupViews).map((t) => [t, 'dedup-view'] as [Table, TableSummary['kind']]),
    [tables.deadLetters, 'dead-letters'],
    ...Object.values(archive).map((t) => [t, 'archive'] as [Table, TableSummary['kind']]),
  ];
  return Promise.all(
    entries.map(async ([table, kind]) => {
      const [metadata] = await table.getMetadata();
      if (kind === 'dedup-view') return { table: table.id!, kind };
      const rows = Number(metadata.numRows ?? 0) + Number(metadata.streamingBuffer?.estimatedRows ?? 0);
      return { table: table.id!, kind, rows, columns: metadata.schema?.fields?.length ?? 0 };
    }),
  );
}
