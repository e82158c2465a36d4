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

/** A row as it goes into an insertAll request body, `{"insertId":…,"json":{…}}`: made once per row. */
export function encodeRow(row: InsertRow): string {
  return JSON.stringify(row);
}

/** A row's share of an insertAll request body: its JSON and a separator. */
export function rowBytes(row: InsertRow, encoded: string = encodeRow(row)): number {
  return Buffer.byteLength(encoded) + 1;
}

/** Splits rows into requests of at most maxRows rows and maxBytes bytes: [start, end) pairs. */
function chunks(encoded: readonly string[], maxRows: number, maxBytes: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  while (start < encoded.length) {
    let end = start;
    let bytes = 0;
    while (end < encoded.length && end - start < maxRows) {
      const size = Buffer.byteLength(encoded[end]) + 1;
      if (end > start && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    out.push([start, end]);
    start = end;
  }
  return out;
}

interface InsertAllResponse {
  insertErrors?: { index: number; errors?: RowError[] }[];
}

/**
 * One tabledata.insertAll request whose body is the rows' JSON as encoded, sent as bytes.
 *
 * Why not `table.insert(rows, {raw: true})`: @google-cloud/bigquery 9 and @google-cloud/common 8 deep-copy
 * a JSON request body three times (`extend(true, …)`) and walk every string in it to replace
 * `{{projectId}}` with the client's project (`replaceProjectIdToken`). Both run on the loader's path for
 * every row: in a CPU profile of the loader they were a quarter of its process's samples. The walk
 * also rewrites an event whose data holds that text (checked: `see {{projectId}} here` was stored as
 * `see <project> here`). A Buffer body is passed through untouched; the request is the same
 * (`POST …/tables/<table>/insertAll`, `application/json`, the client's auth and retries). The body is
 * the documented one: `{skipInvalidRows, ignoreUnknownValues, rows: [{insertId, json}]}`, answered
 * with per-row `insertErrors` (https://cloud.google.com/bigquery/docs/reference/rest/v2/tabledata/insertAll).
 */
async function insertAll(table: Table, encoded: readonly string[]): Promise<InsertAllResponse> {
  // skipInvalidRows: valid rows are stored though others are refused (they come back in insertErrors).
  const body = `{"skipInvalidRows":true,"ignoreUnknownValues":false,"rows":[${encoded.join(',')}]}`;
  const [response] = await table.request({ method: 'POST', uri: '/insertAll', body: Buffer.from(body), headers: { 'Content-Type': 'application/json' } });
  return (response ?? {}) as InsertAllResponse;
}

/**
 * Streams rows in requests of at most `maxRows` rows / `maxBytes`. Invalid rows do not stop the others
 * (skipInvalidRows): they come back in `failed` with BigQuery's errors, for the caller to dead-letter
 * while acking the rest. A failure of a whole request (table missing, permissions ...) throws, after
 * the requests already in flight have finished. `encoded`: each row's encodeRow() when the caller has
 * made it already (the loader does, to size its batches), so no row is serialized twice.
 */
export async function insertBatch(
  table: Table,
  rows: readonly InsertRow[],
  options: InsertOptions = {},
  encoded: readonly string[] = rows.map(encodeRow),
): Promise<InsertResult> {
  const pending = chunks(encoded, options.maxRows ?? 500, options.maxBytes ?? 9 * 1024 * 1024);
  const failed: RowFailure[] = [];
  let error: Error | undefined;
  const send = async ([start, end]: [number, number]) => {
    const { insertErrors } = await insertAll(table, encoded.slice(start, end));
    for (const x of insertErrors ?? []) {
      const errors = (x.errors ?? []).map(({ reason, message, location }) => ({ reason, message, ...(location ? { location } : {}) }));
      failed.push({ index: start + x.index, row: rows[start + x.index], errors, retryable: errors.every((r) => r.reason !== 'invalid') });
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
