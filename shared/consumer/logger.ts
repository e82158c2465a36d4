/**
 * The one pino configuration of the services: one JSON line per entry in Cloud Logging's shape
 * (https://cloud.google.com/logging/docs/structured-logging): `severity` as an uppercase LogSeverity,
 * `message`, `time`, and `logging.googleapis.com/trace` when the message carries a W3C `traceparent`
 * attribute, so a message's log lines group under its trace in the console.
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

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Cloud Logging trace fields from a W3C traceparent (`00-<trace id>-<span id>-<flags>`); undefined
 * when absent or malformed. Without a project id the trace is the bare trace id.
 */
export function traceFields(traceparent: string | undefined, projectId?: string): Record<string, string | boolean> | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!match || /^0+$/.test(match[1])) return undefined;
  return {
    'logging.googleapis.com/trace': projectId ? `projects/${projectId}/traces/${match[1]}` : match[1],
    'logging.googleapis.com/spanId': match[2],
    'logging.googleapis.com/trace_sampled': (parseInt(match[3], 16) & 1) === 1,
  };
}
