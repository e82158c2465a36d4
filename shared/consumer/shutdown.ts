/**
 * Runs a MeshService as a process: starts it, and on SIGTERM (Cloud Run gives 10 s before SIGKILL)
 * or SIGINT stops it gracefully and exits 0; exits 1 if the stop does not finish in `hardLimitMs`.
 * A second signal exits at once. Unhandled rejections are logged, not fatal: one bad promise must
 * not take the other consumers down.
 */
import type { Logger } from './logger';
import type { MeshService } from './service';

export interface RunServiceOptions {
  port?: number;
  host?: string;
  log: Logger;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Exit 1 if stop() takes longer. Default 9500 ms. */
  hardLimitMs?: number;
  /** Default process.exit. */
  exit?: (code: number) => void;
}

export async function runService(service: MeshService, options: RunServiceOptions): Promise<number> {
  const { log } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let signalled = false;
  const shutdown = (reason: string, code: number) => {
    if (signalled) {
      log.warn(`${reason} again: exiting now`);
      exit(1);
      return;
    }
    signalled = true;
    log.info({ reason }, 'graceful shutdown');
    const timer = setTimeout(() => {
      log.error(`graceful shutdown took longer than ${options.hardLimitMs ?? 9500} ms; exiting`);
      exit(1);
    }, options.hardLimitMs ?? 9500);
    timer.unref();
    service.stop().then(
      () => exit(code),
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])) process.on(signal, () => shutdown(signal, 0));
  process.on('unhandledRejection', (error) => log.error({ err: error }, 'unhandled promise rejection'));
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; shutting down');
    shutdown('uncaughtException', 1);
  });
  return service.start(options.port, options.host);
}
