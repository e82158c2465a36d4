/** Typed publisher errors: a producer can tell its own mistakes from Pub/Sub's hiccups. */

/** The event was refused before anything was sent: wrong topic, event type or payload. */
export class EventRejectedError extends Error {
  override readonly name = 'EventRejectedError';
  constructor(
    message: string,
    /** The offending field for schema problems, e.g. "amountCents". */
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Pub/Sub did not take the message. With an ordering key, publishing on that key has been resumed.
 * Retry with `retryOptions` (same `ce-id` AND `ce-time`): the warehouse's dedup views keep one row
 * per (event_id, event_time), so a retry stamped with a new time would count as a second event.
 */
export class PublishFailedError extends Error {
  override readonly name = 'PublishFailedError';
  constructor(
    readonly eventId: string,
    readonly topic: string,
    readonly orderingKey: string | undefined,
    override readonly cause: Error & { code?: number },
    /** The failed event's `ce-time` (RFC 3339). */
    readonly eventTime?: string,
    /** The failed event's traceparent (and tracestate): a retry stays in the same trace. */
    readonly trace?: { traceparent?: string; tracestate?: string },
  ) {
    super(`publishing event ${eventId} to ${topic}${orderingKey ? ` (ordering key ${orderingKey})` : ''} failed: ${cause.message}`);
  }

  /**
   * Options that republish the very same event: `publish(topic, type, data, {...yourOptions, ...error.retryOptions})`
   * (same id, time and trace; pass your extensions again).
   */
  get retryOptions(): { id: string; time?: string; traceparent?: string; tracestate?: string } {
    return {
      id: this.eventId,
      ...(this.eventTime ? { time: this.eventTime } : {}),
      ...(this.trace?.traceparent ? { traceparent: this.trace.traceparent } : {}),
      ...(this.trace?.tracestate ? { tracestate: this.trace.tracestate } : {}),
    };
  }

  /** gRPC code from Pub/Sub (3 = INVALID_ARGUMENT, 14 = UNAVAILABLE ...). */
  get code(): number | undefined {
    return this.cause.code;
  }
}

/**
 * Publisher flow control refused the event (`limitExceededBehavior: 'error'`): as many messages or
 * bytes as allowed are already waiting for Pub/Sub. Nothing was sent; back off and publish again.
 */
export class PublisherFlowControlError extends Error {
  override readonly name = 'PublisherFlowControlError';
  constructor(
    readonly eventId: string,
    readonly topic: string,
    /** What was outstanding when it was refused, and the limits. */
    readonly outstanding: { messages: number; bytes: number; maxMessages?: number; maxBytes?: number },
  ) {
    super(
      `publishing event ${eventId} to ${topic} refused by publisher flow control: ${outstanding.messages} messages (${outstanding.bytes} bytes) ` +
        `already wait for Pub/Sub (limits ${outstanding.maxMessages ?? '-'} messages, ${outstanding.maxBytes ?? '-'} bytes); retry later`,
    );
  }
}
