/**
 * Batched streaming inserts into BigQuery that report per-row failures. What a row holds (events and
 * dead letters -> rows) is the shared contract in shared/warehouse/rows.ts.
 */
import type { Table } from '@google-cloud/bigquery';
import type { InsertRow } from '../../shared/warehouse';

// bench/warehouse.bench.ts still imports these from here.
export { EventRowMapper, eventRow, deadLetterRow, type DeadLetter, type EventDelivery, type InsertRow } from '../../shared/warehouse';

export interface RowError {
  reason: string;
  message: string;
  location?: string;
}

export interface RowFailure {
  /** Index in the rows given to insertBatch. */
  index: number;
  row: InsertRow;
  errors: RowError[];
  /**
   * false: the row itself is wrong ('invalid'), retrying cannot help: dead-letter it.
   * true: BigQuery had a problem (backendError, timeout ...): nack and let Pub/Sub redeliver.
   */
  retryable: boolean;
}

export interface InsertResult {
  /** Rows accepted (including any BigQuery dropped as repeated insertIds). */
  inserted: number;
  failed: RowFailure[];
}

export interface InsertOptions {
  /** Rows per insertAll request; BigQuery recommends 500 (max 50,000). */
  maxRows?: number;
  /** Bytes per request, below BigQuery's 10 MB limit. */
  maxBytes?: number;
  /** Requests in flight at once (default 4): in GCP each request is a network round trip. */
  concurrency?: number;
}

/** A row's share of an insertAll request body: its JSON and a separator. */
export function rowBytes(row: InsertRow): number {
  return Buffer.byteLength(JSON.stringify(row)) + 1;
}

/** Splits rows into requests of at most maxRows rows and maxBytes bytes: [start, end) pairs. */
function chunks(rows: readonly InsertRow[], maxRows: number, maxBytes: number, sizes?: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  while (start < rows.length) {
    let end = start;
    let bytes = 0;
    while (end < rows.length && end - start < maxRows) {
      const size = sizes?.[end] ?? rowBytes(rows[end]);
      if (end > start && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    out.push([start, end]);
    start = end;
  }
  return out;
}

/**
 * Streams rows in requests of at most `maxRows` rows / `maxBytes`. Invalid rows do not stop the others
 * (skipInvalidRows): they come back in `failed` with BigQuery's errors, for the caller to dead-letter
 * while acking the rest. A failure of a whole request (table missing, permissions ...) throws, after
 * the requests already in flight have finished. `sizes`: each row's rowBytes() when the caller has
 * measured them already (the loader does, for its batches), so no row is serialized twice for its size.
 */
export async function insertBatch(table: Table, rows: readonly InsertRow[], options: InsertOptions = {}, sizes?: readonly number[]): Promise<InsertResult> {
  const pending = chunks(rows, options.maxRows ?? 500, options.maxBytes ?? 9 * 1024 * 1024, sizes);
  const failed: RowFailure[] = [];
  let error: Error | undefined;
  const send = async ([start, end]: [number, number]) => {
    const chunk = rows.slice(start, end);
    try {
      // partialRetries 0: the client would otherwise resend the rejected rows as they are.
      await table.insert(chunk, { raw: true, skipInvalidRows: true, ignoreUnknownValues: false, partialRetries: 0 });
    } catch (e) {
      const insertErrors = (e as { name?: string; response?: { insertErrors?: { index: number; errors: RowError[] }[] } }).response?.insertErrors;
      if ((e as Error).name !== 'PartialFailureError' || !insertErrors) throw e;
      for (const x of insertErrors) {
        const errors = (x.errors ?? []).map(({ reason, message, location }) => ({ reason, message, ...(location ? { location } : {}) }));
        failed.push({ index: start + x.index, row: chunk[x.index], errors, retryable: errors.every((r) => r.reason !== 'invalid') });
      }
    }
  };
  const worker = async () => {
    for (let next = pending.shift(); next && error === undefined; next = pending.shift()) {
      await send(next).catch((e: unknown) => (error ??= e as Error));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  if (error !== undefined) throw error;
  failed.sort((a, b) => a.index - b.index);
  return { inserted: rows.length - failed.length, failed };
}
