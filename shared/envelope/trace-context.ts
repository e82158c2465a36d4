/**
 * W3C Trace Context on events: CloudEvents' Distributed Tracing extension
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/extensions/distributed-tracing.md)
 * has the extension attributes `traceparent` and `tracestate`; the Pub/Sub binding maps every
 * attribute to `ce-<name>` (https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md
 * 3.1.3.1), so they travel as `ce-traceparent` and `ce-tracestate`.
 *
 * The publisher stamps every event with a traceparent: the caller's, else the active OpenTelemetry
 * span's (a producer that runs an OpenTelemetry SDK continues its own trace; without an SDK the API
 * has no active span and costs nothing), else a new trace. Consumers put its trace and span id into
 * their log lines as Cloud Logging's trace fields (traceFields), so every sink's log of one event
 * shares one trace id.
 *
 * Parsing and validation are @opentelemetry/core's (parseTraceParent: version ff, all-zero ids and
 * extra fields on version 00 are refused); ids are generated here because the API has no generator
 * (the SDK's RandomIdGenerator does the same: random hex).
 */
import { randomBytes } from 'node:crypto';
import { context, isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';

export const TRACEPARENT_ATTRIBUTE = 'ce-traceparent';
export const TRACESTATE_ATTRIBUTE = 'ce-tracestate';
/** Read as a fallback: the bare W3C names some producers (and this mesh before) set on Pub/Sub messages. */
export const BARE_TRACEPARENT_ATTRIBUTE = 'traceparent';

/** W3C: vendors propagate at least 512 characters of tracestate; Pub/Sub attribute values hold 1024 bytes. */
export const MAX_TRACESTATE_LENGTH = 512;

// W3C tracestate: list-members of key=value separated by commas, printable ASCII without `,` or `=` in values.
const TRACESTATE = /^[\x20-\x7e]*$/;

export interface TraceIds {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** Trace id, span id and sampled flag of a valid traceparent, else undefined. Exact text: no whitespace, lowercase hex. */
export function parseTraceparent(traceparent: string | undefined): TraceIds | undefined {
  if (!traceparent || traceparent !== traceparent.trim()) return undefined;
  const span = parseTraceParent(traceparent);
  if (!span || !isSpanContextValid(span)) return undefined;
  // Bit 0 is TraceFlags.SAMPLED (the enum does not compare with a number under the lint rules).
  return { traceId: span.traceId, spanId: span.spanId, sampled: (span.traceFlags & 1) === 1 };
}

/** Why `traceparent` is not a W3C traceparent, or undefined when it is one. */
export function traceparentProblem(traceparent: string): string | undefined {
  if (parseTraceparent(traceparent)) return undefined;
  return `traceparent "${traceparent.slice(0, 80)}" is not a W3C traceparent (00-<32 hex trace id, not all zero>-<16 hex span id, not all zero>-<2 hex flags>)`;
}

/** Why `tracestate` cannot travel, or undefined. */
export function tracestateProblem(tracestate: string): string | undefined {
  if (tracestate.length > MAX_TRACESTATE_LENGTH) return `tracestate is ${tracestate.length} characters; at most ${MAX_TRACESTATE_LENGTH} travel`;
  if (!TRACESTATE.test(tracestate)) return 'tracestate holds characters other than printable ASCII';
  return undefined;
}

/** A traceparent of the active OpenTelemetry span, if a valid one is active, else of a new sampled trace. */
export function currentOrNewTraceparent(): string {
  const active = trace.getSpanContext(context.active());
  if (active && isSpanContextValid(active)) return formatTraceparent(active.traceId, active.spanId, active.traceFlags);
  // One call for both ids (hot path: every published event): 16 bytes of trace id, 8 of span id.
  const hex = randomBytes(24).toString('hex');
  return formatTraceparent(hex.slice(0, 32), hex.slice(32), TraceFlags.SAMPLED);
}

function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The traceparent a message carries: `ce-traceparent`, else a bare `traceparent`. */
export function traceparentOf(attributes: Readonly<Record<string, string>> | undefined): string | undefined {
  return attributes?.[TRACEPARENT_ATTRIBUTE] ?? attributes?.[BARE_TRACEPARENT_ATTRIBUTE];
}

/**
 * Cloud Logging's trace fields for a traceparent, undefined when it is absent or invalid: `trace` is
 * `projects/<project>/traces/<trace id>` (the bare trace id without a project, locally), `spanId` the
 * 16 hex digits, `trace_sampled` the flag (https://cloud.google.com/logging/docs/structured-logging
 * "Special JSON fields in messages"; https://cloud.google.com/trace/docs/trace-log-integration).
 */
export function traceFields(traceparent: string | undefined, projectId?: string): Record<string, string | boolean> | undefined {
  const ids = parseTraceparent(traceparent);
  if (!ids) return undefined;
  return {
    'logging.googleapis.com/trace': projectId ? `projects/${projectId}/traces/${ids.traceId}` : ids.traceId,
    'logging.googleapis.com/spanId': ids.spanId,
    'logging.googleapis.com/trace_sampled': ids.sampled,
  };
}
