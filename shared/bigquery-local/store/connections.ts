/**
 * The DuckDB file the store works on: opened (or created) with one connection for writes and one for
 * queries, both set up to behave as BigQuery does (UTC, BigQuery's NULL order), and the store's
 * metadata tables in place. DuckDB connections are not safe for interleaved use, so each is used
 * under a Mutex.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { META_SCHEMA_SQL } from './metadata';

/** One async operation at a time (DuckDB connections are not safe for interleaved use). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface DuckDbFile {
  instance: DuckDBInstance;
  writer: DuckDBConnection;
  reader: DuckDBConnection;
}

/** Opens `dataFile` (or ':memory:'); a file another process holds fails with a message that says so. */
export async function openDuckDbFile(dataFile: string): Promise<DuckDbFile> {
  if (dataFile !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(dataFile)), { recursive: true });
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(dataFile);
  } catch (error) {
    const message = (error as Error).message;
    if (/lock/i.test(message))
      throw new Error(`local BigQuery data file ${dataFile} is in use by another process: ${message.split('\n')[0]}`, { cause: error });
    throw error;
  }
  const writer = await instance.connect();
  const reader = await instance.connect();
  // UTC like BigQuery, and BigQuery's NULL order: first when ascending, last when descending.
  for (const c of [writer, reader]) await c.run(`SET TimeZone = 'UTC'; SET default_null_order = 'nulls_first_on_asc_last_on_desc'`);
  await writer.run(META_SCHEMA_SQL);
  return { instance, writer, reader };
}
