/**
 * The local BigQuery endpoint in a process of its own (bench/local-bigquery-process.ts starts it).
 * Argument: the DuckDB file. Sends `{ url }` to its parent once listening; stops (and closes DuckDB)
 * when the parent disconnects or on SIGTERM.
 */
import { startLocalBigQuery } from '../../shared/bigquery-local';

void (async () => {
  const local = await startLocalBigQuery({ dataFile: process.argv[2] });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void local.stop().finally(() => process.exit(0));
  };
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
  process.send?.({ url: local.url });
})().catch((error: unknown) => {
  process.stderr.write(`local BigQuery endpoint: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
