/**
 * The push benches' load generator, seen from the bench: a worker thread running
 * bench/workers/load-generator.ts, one job (a slice of keep-alive POSTs of one body) at a time.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface LoadJob {
  port: number;
  path: string;
  body: Uint8Array;
  headers: Record<string, string>;
  concurrency: number;
  /** Requests answered within the first warmupMs are not counted. */
  warmupMs: number;
  /** Counted time after the warm-up. */
  durationMs: number;
}

export interface LoadResult {
  /** 204s answered after the warm-up. */
  ok: number;
  /** Connections that ended on anything but a 204. */
  bad: number;
  seconds: number;
  firstError?: string;
}

const WORKER = path.join(__dirname, 'workers', 'load-generator.ts');

export class LoadGenerator {
  // The worker is TypeScript: tsx's CommonJS hook loads it (worker threads do not get the parent's
  // module hooks on Node 20, so inheriting tsx's --import is not enough).
  private readonly worker = new Worker(WORKER, { execArgv: ['--require', require.resolve('tsx/cjs')] });

  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.worker.once('error', onError);
      this.worker.once('message', (result: LoadResult) => {
        this.worker.off('error', onError);
        resolve(result);
      });
      this.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
