/** Per-consumer counters, served as JSON at /stats. Plain numbers: cheap enough for the hot path. */

export interface ConsumerCounters {
  /** Deliveries that reached the runtime (redeliveries count again). */
  received: number;
  /** Handler wrote the effect. */
  done: number;
  /** Handler saw the event id before; acked without an effect. */
  duplicate: number;
  /** Sent to the consumer's dead-letter topic by the poison fast path. */
  deadLettered: number;
  /** Transient failures (nack / 5xx), including a dead-letter publish that failed. */
  failed: number;
}

export interface StatsSnapshot {
  service: string;
  consumers: Record<string, ConsumerCounters>;
}

export class ServiceStats {
  private readonly counters = new Map<string, ConsumerCounters>();

  constructor(
    readonly service: string,
    consumers: string[],
  ) {
    for (const name of consumers) this.counters.set(name, { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 });
  }

  /** The live counters of one consumer (mutate in place). */
  of(consumer: string): ConsumerCounters {
    const counters = this.counters.get(consumer);
    if (!counters) throw new Error(`no counters for consumer ${consumer}`);
    return counters;
  }

  snapshot(): StatsSnapshot {
    const consumers: Record<string, ConsumerCounters> = {};
    for (const [name, c] of this.counters) consumers[name] = { ...c };
    return { service: this.service, consumers };
  }
}
