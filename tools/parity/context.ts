/**
 * What every parity check shares: the range, the clients, which consumer of a topic each sink is,
 * what each consumer holds in its dead-letter hold, and when a window can be judged.
 *
 * Judging (docs/parity.md): a window [start, end) is judged once it ended at least `settle` ago and
 * every consumer of its topic has acked everything published before its end (each consumer's oldest
 * unacked message is younger than the window's end); until then it is `pending`. An entity (an
 * order, a post, a user) that disagrees is `pending` while the sink behind holds a backlog or the
 * entity's newest event was published after the drained horizon, else a mismatch.
 */
import { sinkConsumer, sinkConsumers } from '../../shared/parity';
import type { MeshSpec } from '../../shared/spec';
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import type { Granularity } from '../../services/dashboard/windows';
import type { SmokeTarget } from '../smoke/target';
import type { FirestoreSinks } from './sinks';
import type { WarehouseReference } from './warehouse';

/** Consumer lag: consumer -> age in seconds of its oldest unacked message (null: nothing unacked). */
export type ConsumerLag = Map<string, number | null>;

export class LagJudge {
  constructor(
    /** undefined: unknown (no health source answered); windows are then judged as if drained. */
    private readonly oldest: ConsumerLag | undefined,
    private readonly now: number,
    private readonly settleMs: number,
  ) {}

  get known(): boolean {
    return this.oldest !== undefined;
  }

  hasBacklog(consumer: string): boolean {
    return (this.oldest?.get(consumer) ?? null) !== null;
  }

  /** Everything published before this time (ms) has been acked by every one of `consumers`. */
  horizon(consumers: string[]): number {
    let horizon = this.now;
    for (const c of consumers) {
      const age = this.oldest?.get(c);
      if (age !== undefined && age !== null) horizon = Math.min(horizon, this.now - age * 1000);
    }
    return horizon;
  }

  windowPending(consumers: string[], endMs: number): boolean {
    return endMs > this.now - this.settleMs || this.horizon(consumers) <= endMs;
  }
}

export interface ParityContext {
  spec: MeshSpec;
  target: SmokeTarget;
  granularity: Granularity;
  /** Start of the first window; windows end at or before untilMs. */
  fromMs: number;
  untilMs: number;
  now: number;
  /** Ids shown per difference. */
  sample: number;
  warehouse: WarehouseReference;
  sinks: FirestoreSinks;
  lag: LagJudge;
  /** consumer -> event id -> what it holds in its dead-letter hold (one entry per event id). */
  held: Map<string, Map<string, HeldMessage>>;
  warnings: string[];
}

export { sinkConsumer, sinkConsumers };

export function consumerNames(spec: MeshSpec, topic: string): string[] {
  return Object.values(sinkConsumers(spec, topic)).map((c) => c.name);
}

/** Held events of `consumer` whose ids are in `stored` (the sink refused what the warehouse kept). */
export function heldStored(ctx: ParityContext, consumer: string | undefined, stored: Set<string>): HeldMessage[] {
  if (!consumer) return [];
  return [...(ctx.held.get(consumer)?.values() ?? [])].filter((m) => m.eventId !== undefined && stored.has(m.eventId));
}
