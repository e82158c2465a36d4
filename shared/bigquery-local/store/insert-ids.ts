/**
 * insertAll's best-effort dedup: the insertIds seen within the window, per table. In memory (read
 * from META.insert_ids on a table's first insert) and in META.insert_ids, written in the same
 * transaction as the rows, so a restart on the same file still drops a repeat.
 */
import { DuckDBTimestampTZValue, type DuckDBConnection } from '@duckdb/node-api';
import { META } from './metadata';
import type { RowToAppend } from './insert-rows';

export class InsertIdWindow {
  /** insertId -> when it was seen (ms), per table, oldest first. */
  private readonly seen = new Map<string, Map<string, number>>();
  private lastPrune = Date.now();

  constructor(
    private readonly writer: DuckDBConnection,
    private readonly windowMs: number,
  ) {}

  /** The rows whose insertId was not seen within the window nor earlier in `rows` (a repeat is dropped silently), and their ids. */
  async unseen(key: string, rows: RowToAppend[]): Promise<{ rows: RowToAppend[]; ids: Set<string> }> {
    const seen = await this.seenIds(key);
    const ids = new Set<string>();
    const keep = rows.filter((row) => {
      if (row.insertId === undefined) return true;
      if (seen.has(row.insertId) || ids.has(row.insertId)) return false;
      ids.add(row.insertId);
      return true;
    });
    return { rows: keep, ids };
  }

  /** Writes the ids to META.insert_ids, inside the caller's transaction. */
  async write(key: string, ids: Set<string>): Promise<void> {
    if (!ids.size) return;
    const appender = await this.writer.createAppender('insert_ids', META);
    const at = new DuckDBTimestampTZValue(BigInt(Date.now()) * 1000n);
    for (const id of ids) {
      appender.appendVarchar(key);
      appender.appendVarchar(id);
      appender.appendTimestampTZ(at);
      appender.endRow();
    }
    appender.closeSync();
  }

  /** After the commit: the ids count as seen from now; then forgets what left the window. */
  async committed(key: string, ids: Set<string>): Promise<void> {
    const seen = await this.seenIds(key);
    const at = Date.now();
    for (const id of ids) seen.set(id, at);
    await this.prune();
  }

  /** The table is gone (its META rows are the caller's to delete). */
  forget(key: string): void {
    this.seen.delete(key);
  }

  private async seenIds(key: string): Promise<Map<string, number>> {
    let seen = this.seen.get(key);
    if (!seen) {
      seen = new Map();
      const since = new DuckDBTimestampTZValue(BigInt(Date.now() - this.windowMs) * 1000n);
      const result = await this.writer.runAndReadAll(
        `SELECT insert_id, epoch_ms(seen_at) FROM ${META}.insert_ids WHERE table_key = $1 AND seen_at >= $2 ORDER BY seen_at`,
        [key, since],
      );
      for (const [id, at] of result.getRows()) seen.set(String(id), Number(at));
      this.seen.set(key, seen);
    }
    return seen;
  }

  /** Forgets insertIds older than the window, at most once a minute. */
  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    const cutoff = Date.now() - this.windowMs;
    for (const seen of this.seen.values()) {
      for (const [id, at] of seen) {
        if (at >= cutoff) break;
        seen.delete(id);
      }
    }
    await this.writer.run(`DELETE FROM ${META}.insert_ids WHERE seen_at < $1`, [new DuckDBTimestampTZValue(BigInt(cutoff) * 1000n)]);
  }
}
