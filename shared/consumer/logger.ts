/**
 * The one pino configuration of the services: one JSON line per entry in Cloud Logging's shape
 * (https://cloud.google.com/logging/docs/structured-logging): `severity` as an uppercase LogSeverity,
 * `message`, `time`, and `logging.googleapis.com/trace` (+ `spanId`, `trace_sampled`) when the message
 * carries a W3C traceparent (`ce-traceparent`, else a bare `traceparent`), so a message's log lines
 * group under its trace in the console.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** pino level label -> Cloud Logging severity. */
const SEVERITY: Record<string, string> = { trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL' };

export interface LoggerOptions {
  /** Added to every line as `service`. */
  service?: string;
  /** Default: $LOG_LEVEL, else 'info'. Per-message lines are 'debug', so the hot path logs nothing by default. */
  level?: string;
  /** Default: stdout (synchronous, as Cloud Run wants). Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      messageKey: 'message',
      // No pid/hostname: Cloud Run labels entries with the instance already.
      base: options.service ? { service: options.service } : undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
    },
    options.destination,
  );
}

/**
 * Cloud Logging trace fields from a W3C traceparent (shared/envelope/trace-context.ts); the pipeline
 * binds them to every line it logs for a message, so each sink's log of one event shares its trace.
 */
export { traceFields } from '../envelope/trace-context';
