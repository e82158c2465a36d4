/**
 * The warehouse loader: rows in, batched streaming inserts out, one Batcher per table. What each
 * row's promise settles to tells the consumer runtime what to do with its message:
 *
 *   row stored                                   -> 'loaded'         (ack)
 *   BigQuery refused the row (invalid), events   -> a `dead_letters` row with BigQuery's error,
 *                                                   then 'dead-lettered' (ack; the batch's good rows landed)
 *   ... and dead_letters refused it too, or the
 *       table has no dead-letter table (archive) -> PoisonError 'insert' (the runtime publishes it
 *                                                   to the consumer's dead-letter topic, then acks)
 *   BigQuery failed on the row or the request
 *   (backend error, timeout, endpoint down)      -> TransientError (nack: Pub/Sub redelivers, and
 *                                                   the insertId = message id keeps it from landing twice)
 *
 * Nothing is acked before the insertAll that holds its row has answered, so a crash or kill at
 * any moment leaves every unwritten row unacked, to be redelivered.
 */
import type { Table } from '@google-cloud/bigquery';
import { PoisonError, TransientError, type DecodedEvent, type Logger } from '../../shared/consumer';
import type { ConsumerSpec, MeshSpec } from '../../shared/spec';
import { Batcher, type BatcherOptions, type BatcherStats } from './batcher';
import { deadLetterRow, eventRow, type InsertRow } from '../../shared/warehouse';
import { encodeRow, insertBatch, rowBytes, type InsertOptions, type RowError, type RowFailure } from './rows';
import type { WarehouseTables } from './tables';

export type RowOutcome = 'loaded' | 'dead-lettered';

/** Where a row came from, for its dead_letters row if BigQuery refuses it. */
export interface RowOrigin {
  consumer: string;
  topic: string;
  messageId: string;
  attributes?: Readonly<Record<string, string>>;
}

interface QueuedRow {
  row: InsertRow;
  origin?: RowOrigin;
  /** encodeRow(row): made once, to size the batch and as its share of the insertAll request. */
  encoded: string;
}

export interface TableLoadStats extends BatcherStats {
  /** Rows BigQuery refused that went to dead_letters. */
  deadLettered: number;
  /** Rows BigQuery refused that could not go to dead_letters (handed to the dead-letter topic). */
  rejected: number;
  /** Rows BigQuery failed on transiently (nacked). */
  retried: number;
}

export interface WarehouseLoaderOptions {
  spec: MeshSpec;
  /** Batching per table; defaults in BatcherOptions (500 rows, 5 MiB, 200 ms, 2 writes at once). */
  batch?: BatcherOptions;
  /** Per insertAll request; defaults in InsertOptions (500 rows, 9 MiB, 4 requests at once). */
  insert?: InsertOptions;
  log: Logger;
}

/** A load before use(): the service started its consumers before its tables were ready (a bug). */
export class LoaderNotReadyError extends Error {
  override readonly name = 'LoaderNotReadyError';
}

const describeErrors = (errors: RowError[]) => errors.map((e) => (e.location ? `${e.location}: ${e.message}` : e.message)).join('; ') || 'no reason given';

export class WarehouseLoader {
  private tables?: WarehouseTables;
  /** table id -> its Table, for every table rows may go to. */
  private readonly targets = new Map<string, Table>();
  private readonly batchers = new Map<string, Batcher<QueuedRow, RowOutcome>>();
  private readonly counts = new Map<string, { deadLettered: number; rejected: number; retried: number }>();
  private eager = false;

  constructor(private readonly options: WarehouseLoaderOptions) {}

  /** The tables to write to: the events and dead-letter tables, and any extra tables by id (the local archive). */
  use(tables: WarehouseTables, extra: Record<string, Table> = {}): void {
    this.tables = tables;
    for (const table of Object.values(tables.events)) this.targets.set(table.id!, table);
    this.targets.set(tables.deadLetters.id!, tables.deadLetters);
    for (const [id, table] of Object.entries(extra)) this.targets.set(id, table);
  }

  /** One event of `consumer`'s topic into `<topic>_events`. */
  loadEvent(consumer: Pick<ConsumerSpec, 'name' | 'topic'>, decoded: DecodedEvent<unknown>): Promise<RowOutcome> {
    const topic = this.options.spec.topics[consumer.topic];
    const table = this.tables?.events[consumer.topic];
    if (!topic || !table) return Promise.reject(new LoaderNotReadyError(`no events table for topic ${consumer.topic} (tables not prepared?)`));
    return this.enqueue(table.id!, eventRow(topic, decoded), {
      consumer: consumer.name,
      topic: topic.name,
      messageId: decoded.messageId,
      attributes: decoded.attributes,
    });
  }

  /**
   * A prepared row into a table given to use(). Without `origin` a refused row is not written to
   * dead_letters but fails as a PoisonError.
   */
  loadRow(tableId: string, row: InsertRow, origin?: RowOrigin): Promise<RowOutcome> {
    if (!this.targets.has(tableId)) return Promise.reject(new LoaderNotReadyError(`unknown table ${tableId}`));
    return this.enqueue(tableId, row, origin);
  }

  /** Shutdown: write what is buffered now, and every later row at once. */
  flushEagerly(): void {
    this.eager = true;
    for (const batcher of this.batchers.values()) batcher.flushEagerly();
  }

  /** Resolves once every row added so far is written (or failed). */
  async idle(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.idle()));
  }

  /** Per table id. */
  stats(): Record<string, TableLoadStats> {
    const out: Record<string, TableLoadStats> = {};
    for (const [id, batcher] of this.batchers) out[id] = { ...batcher.stats(), ...this.countsOf(id) };
    return out;
  }

  /** Rows added and not yet settled, over all tables: bounded by the consumers' flow control. */
  get pending(): number {
    let sum = 0;
    for (const batcher of this.batchers.values()) sum += batcher.stats().pending;
    return sum;
  }

  private enqueue(tableId: string, row: InsertRow, origin: RowOrigin | undefined): Promise<RowOutcome> {
    let batcher = this.batchers.get(tableId);
    if (!batcher) {
      const table = this.targets.get(tableId)!;
      batcher = new Batcher<QueuedRow, RowOutcome>((items) => this.write(table, items), this.options.batch);
      if (this.eager) batcher.flushEagerly();
      this.batchers.set(tableId, batcher);
    }
    const encoded = encodeRow(row);
    return batcher.add({ row, origin, encoded }, rowBytes(row, encoded));
  }

  private countsOf(tableId: string) {
    let c = this.counts.get(tableId);
    if (!c) this.counts.set(tableId, (c = { deadLettered: 0, rejected: 0, retried: 0 }));
    return c;
  }

  /** One batch into one table; one outcome or error per row. */
  private async write(table: Table, items: QueuedRow[]): Promise<(RowOutcome | Error)[]> {
    const tableId = table.id!;
    const counts = this.countsOf(tableId);
    let failed: RowFailure[];
    try {
      ({ failed } = await insertBatch(
        table,
        items.map((i) => i.row),
        this.options.insert,
        items.map((i) => i.encoded),
      ));
    } catch (error) {
      counts.retried += items.length;
      this.options.log.warn({ table: tableId, rows: items.length, err: error }, 'insertAll failed; the batch will be redelivered');
      throw new TransientError(`insertAll into ${tableId} failed: ${(error as Error).message}`, { cause: error });
    }
    const out: (RowOutcome | Error)[] = items.map(() => 'loaded');
    const refused: RowFailure[] = [];
    for (const failure of failed) {
      if (failure.retryable) {
        counts.retried++;
        out[failure.index] = new TransientError(`BigQuery could not store row ${failure.row.insertId} in ${tableId} now: ${describeErrors(failure.errors)}`);
      } else refused.push(failure);
    }
    if (!refused.length) return out;

    const toDeadLetters = refused.filter((f) => items[f.index].origin && this.tables);
    for (const f of refused.filter((x) => !toDeadLetters.includes(x))) {
      counts.rejected++;
      out[f.index] = new PoisonError(`BigQuery refused the row for ${tableId}: ${describeErrors(f.errors)}`, 'insert');
    }
    if (!toDeadLetters.length) return out;

    const letters = toDeadLetters.map((f) => {
      const origin = items[f.index].origin!;
      return deadLetterRow({
        consumer: origin.consumer,
        topic: origin.topic,
        reason: 'insert',
        error: `${tableId}: ${describeErrors(f.errors)}`,
        eventId: typeof f.row.json.event_id === 'string' ? f.row.json.event_id : undefined,
        messageId: origin.messageId,
        attributes: origin.attributes,
        data: typeof f.row.json.data === 'string' ? f.row.json.data : JSON.stringify(f.row.json.data ?? null),
      });
    });
    let letterFailures: RowFailure[];
    try {
      ({ failed: letterFailures } = await insertBatch(this.tables!.deadLetters, letters, this.options.insert));
    } catch (error) {
      counts.retried += toDeadLetters.length;
      const message = `BigQuery refused the row for ${tableId} and writing it to dead_letters failed: ${(error as Error).message}`;
      for (const f of toDeadLetters) out[f.index] = new TransientError(message, { cause: error });
      return out;
    }
    const letterFailed = new Map(letterFailures.map((lf) => [lf.index, lf]));
    toDeadLetters.forEach((f, i) => {
      const lf = letterFailed.get(i);
      if (!lf) {
        counts.deadLettered++;
        out[f.index] = 'dead-lettered';
      } else if (lf.retryable) {
        counts.retried++;
        out[f.index] = new TransientError(`row ${f.row.insertId} refused by ${tableId}; dead_letters failed too: ${describeErrors(lf.errors)}`);
      } else {
        counts.rejected++;
        out[f.index] = new PoisonError(
          `BigQuery refused the row for ${tableId} (${describeErrors(f.errors)}) and its dead_letters row (${describeErrors(lf.errors)})`,
          'insert',
        );
      }
    });
    this.options.log.warn({ table: tableId, rows: toDeadLetters.length, first: letters[0]?.json.error }, 'rows refused by BigQuery went to dead_letters');
    return out;
  }
}
