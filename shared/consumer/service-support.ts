/**
 * What createMeshService (service.ts) uses around its work: a shutdown step with a time limit, and the
 * express error handler every service's app ends with.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from './logger';

export async function withTimeout(work: Promise<unknown>, ms: number, onTimeout: () => void, log?: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const finished = work.then(
    () => 'ok' as const,
    (error) => {
      log?.error({ err: error }, 'shutdown step failed');
      return 'ok' as const;
    },
  );
  const result = await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') onTimeout();
}

/**
 * After every route: a failed request answers JSON `{error, errorId}` and never a stack trace
 * (express's default handler prints one outside production); the log line with the stack carries
 * the same errorId, so a person with the answer finds the cause.
 */
export function errorResponder(log: Logger): ErrorRequestHandler {
  return (error: Error & { status?: number; statusCode?: number; expose?: boolean }, req, res, _next) => {
    const status = error.status ?? error.statusCode ?? 500;
    const errorId = randomUUID();
    const fields = { err: error, errorId, method: req.method, path: req.path, status };
    if (status >= 500) log.error(fields, 'request failed');
    else log.warn(fields, 'request refused');
    if (res.headersSent) return void res.end();
    // 4xx from body parsing and the like say what was wrong (http-errors marks them expose); 5xx say nothing more.
    res.status(status).json({ error: status < 500 && error.expose !== false ? error.message : 'internal error', errorId });
  };
}
