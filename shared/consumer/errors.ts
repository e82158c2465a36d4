/**
 * Typed errors of the consumer runtime. A handler tells the runtime what to do with a message by
 * what it throws:
 *
 * - `TransientError`: something outside the event failed (Firestore busy, a timeout). The message is
 *   nacked (pull) or answered 5xx (push) and Pub/Sub redelivers it with the subscription's backoff;
 *   on the last of `deadLetter.maxAttempts` deliveries the pipeline (pipeline.ts) dead-letters it
 *   with reason `max-attempts` and the last error; where it cannot see the attempt (the emulator's
 *   push), Pub/Sub's dead-letter policy moves it.
 * - `PoisonError`: the event itself can never succeed (a field the handler needs is empty, an id
 *   that cannot be a document name). It goes to the consumer's dead-letter topic at once, with
 *   `reason` = `PoisonError.reason`, and is acked.
 *
 * Anything else a handler throws is treated like a TransientError (a bug fixed by the next deploy
 * should not have thrown events away), counted as `failed` and logged at ERROR.
 */

import { UserError } from '../errors';

/**
 * Short dead-letter reason codes the runtime itself produces (handlers may add their own); each is a
 * row of docs/consumers.md "Poison or transient" (test/unit/error-classes.test.ts keeps them equal).
 */
export const POISON_REASONS = [
  'not-json',
  'missing-attribute',
  'bad-attribute',
  'unsupported-specversion',
  /** A lone UTF-16 surrogate in an attribute or the data (shared/envelope/well-formed.ts). */
  'bad-encoding',
  /** Data nested deeper than MAX_DATA_DEPTH. */
  'too-deep',
  /** ce-time too far before or after the publish time (shared/envelope/time.ts). */
  'time-out-of-range',
  'unknown-type',
  'schema',
  /** A value that cannot be a Firestore document id, even encoded (shared/firestore/ids.ts). */
  'bad-id',
  /** A sink answered INVALID_ARGUMENT to the write the event asked for (shared/consumer/classify.ts). */
  'rejected-by-sink',
  'handler',
  /** Transient failure on the subscription's last delivery attempt (see pipeline.ts). */
  'max-attempts',
] as const;
export type PoisonReason = (typeof POISON_REASONS)[number];

/** Retry later: nack / HTTP 5xx. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Never retry: publish to the consumer's dead-letter topic now, then ack. */
export class PoisonError extends Error {
  override readonly name = 'PoisonError';
  constructor(
    message: string,
    /** The `reason` attribute on the dead-lettered message: a short kebab-case code. Default 'handler'. */
    readonly reason: PoisonReason | (string & {}) = 'handler',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The service was configured in a way that cannot work (missing handler, no push auth decision ...). Thrown at startup. */
export class ConsumerConfigError extends UserError {
  override readonly name = 'ConsumerConfigError';
}

/**
 * An HTTP request on a push path that is not an acceptable Pub/Sub delivery (wrong method, not JSON,
 * no message, too large, bad token). Answered with `status` and never reaches a handler.
 */
export class PushRequestError extends Error {
  override readonly name: string = 'PushRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The push request's OIDC token is missing or invalid (401) or names someone else (403). */
export class PushAuthError extends PushRequestError {
  override readonly name = 'PushAuthError';
  constructor(status: 401 | 403, message: string) {
    super(status, message);
  }
}

/** Publishing a poison message to the dead-letter topic failed: the message is nacked, never dropped. */
export class DeadLetterPublishError extends Error {
  override readonly name = 'DeadLetterPublishError';
  constructor(
    readonly topic: string,
    readonly messageId: string,
    options: { cause: unknown },
  ) {
    super(`could not publish message ${messageId} to dead-letter topic ${topic}: ${(options.cause as Error)?.message ?? options.cause}`, options);
  }
}
