/**
 * The local BigQuery endpoint in a child process, as `npm start` runs it: there it lives in the
 * launcher (shared/local/run.ts), and the warehouse service is a process of its own, so the loader
 * never pays for the endpoint's JSON, checks and DuckDB writes on its own event loop. A bench that
 * ran both in one process measured their costs added up, which no deployment has.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { groupCpuSeconds } from './cpu';

export interface LocalBigQueryProcess {
  url: string;
  pid: number;
  /** CPU seconds the endpoint's process has used so far (NaN off Linux). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const WORKER = path.join(__dirname, 'workers', 'local-bigquery.ts');

export function startLocalBigQueryProcess(dataFile: string): Promise<LocalBigQueryProcess> {
  // detached: its own process group, so its CPU is read by group like the emulators'.
  const child = fork(WORKER, [dataFile], {
    execArgv: ['--require', require.resolve('tsx/cjs')],
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the local BigQuery endpoint's process exited (code ${code}) before listening`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (message: { url: string }) => {
      child.off('exit', onExit);
      resolve({
        url: message.url,
        pid: child.pid!,
        cpuSeconds: () => groupCpuSeconds(child.pid!),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
