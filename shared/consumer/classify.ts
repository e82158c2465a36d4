/**
 * One place decides what a failure means: poison (the message can never succeed: dead-letter it
 * at once with a reason, ack it) or transient (something outside the message may heal: nack it,
 * Pub/Sub redelivers with backoff). The table of classes is docs/consumers.md "Poison or
 * transient", and test/unit/error-classes.test.ts covers each of its rows.
 *
 *   PoisonError (handler or decode)                        -> poison, its reason
 *   EnvelopeError (missing/bad attribute, not JSON, bad encoding, too deep, specversion) -> poison
 *   SchemaValidationError                                  -> poison 'schema'
 *   gRPC INVALID_ARGUMENT from a sink (Firestore, Pub/Sub)  -> poison 'rejected-by-sink'
 *   TransientError, gRPC UNAVAILABLE / DEADLINE_EXCEEDED / ABORTED / RESOURCE_EXHAUSTED ...
 *                                                          -> transient (expected)
 *   anything else (a bug)                                  -> transient, logged at ERROR
 *
 * Anything unexpected stays transient on purpose: a bug fixed by the next deploy should not have
 * thrown events away; the dead-letter policy still ends the retries after maxAttempts.
 */
import { EnvelopeError } from '../envelope';
import { SchemaValidationError } from '../schemas';
import { PoisonError, TransientError } from './errors';

/** The runtime's verdict on an error thrown while decoding or handling a message. */
export type Verdict = { kind: 'poison'; reason: string; message: string } | { kind: 'transient'; message: string; expected: boolean };

/** gRPC status codes (google.rpc.Code) a client error carries as `code`. */
const GRPC_INVALID_ARGUMENT = 3;
/** Codes that say "try again later": CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE. */
const GRPC_TRANSIENT = new Set([1, 2, 4, 8, 10, 13, 14]);

export function classifyError(error: unknown): Verdict {
  if (error instanceof PoisonError) return { kind: 'poison', reason: error.reason, message: error.message };
  if (error instanceof EnvelopeError || error instanceof SchemaValidationError) {
    const poison = toPoison(error);
    return { kind: 'poison', reason: poison.reason, message: poison.message };
  }
  if (error instanceof TransientError) return { kind: 'transient', message: error.message, expected: true };
  const message = error instanceof Error ? error.message : String(error);
  const code = grpcCode(error);
  // A sink refusing what the event asked it to write (a value it cannot store) refuses it again on every retry.
  // Except Firestore's "transaction has expired" (INVALID_ARGUMENT too), which its client itself retries.
  if (code === GRPC_INVALID_ARGUMENT && !/transaction.*expired/i.test(message))
    return { kind: 'poison', reason: 'rejected-by-sink', message: `the sink refused the write: ${message}` };
  if (code !== undefined && GRPC_TRANSIENT.has(code)) return { kind: 'transient', message, expected: true };
  return { kind: 'transient', message, expected: false };
}

/**
 * A sink's failure to write `what`, as the error a handler throws, by the verdict above:
 * PoisonError with its reason when the write can never succeed (a sink's INVALID_ARGUMENT),
 * TransientError for an expected transient code; both name `what` and keep the original as their
 * cause. Anything else is returned as it is, so the runtime still logs it as unexpected.
 */
export function sinkFailure(error: unknown, what: string): unknown {
  if (error instanceof PoisonError || error instanceof TransientError) return error;
  const verdict = classifyError(error);
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  if (verdict.kind === 'poison') return new PoisonError(message, verdict.reason, { cause: error });
  return verdict.expected ? new TransientError(message, { cause: error }) : error;
}

/** An EnvelopeError or SchemaValidationError as the PoisonError it is; anything else unchanged. */
export function asPoison(error: unknown): unknown {
  return error instanceof EnvelopeError || error instanceof SchemaValidationError ? toPoison(error) : error;
}

function toPoison(error: EnvelopeError | SchemaValidationError): PoisonError {
  if (error instanceof EnvelopeError) return new PoisonError(error.message, error.problem, { cause: error });
  return new PoisonError(`schema: ${error.message}`, 'schema', { cause: error });
}

/** The gRPC status code of a Google client error (google-gax sets a numeric `code`), if any. */
function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  // HTTP-style errors (e.g. a REST client's 404) also carry a numeric code: only 0..16 are gRPC's.
  return typeof code === 'number' && code >= 0 && code <= 16 ? code : undefined;
}
