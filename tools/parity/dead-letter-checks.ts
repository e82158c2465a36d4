/**
 * Dead letters accounted for: every event some consumer of a topic refused (it is in that consumer's
 * dead-letter hold) must, for every other compared consumer of the topic, be either in its hold too
 * or applied by it (a dedup record for the Firestore consumers, a row for the warehouse). An event
 * that one consumer neither holds nor applied was lost by it.
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import type { ParityContext } from './context';
import type { ParityRow, Sink } from './types';

export interface DeadLetterCheckInput {
  topic: string;
  /** sink -> its consumer of the topic. */
  consumers: Partial<Record<Sink, string>>;
}

export async function deadLetterRows(ctx: ParityContext, input: DeadLetterCheckInput): Promise<ParityRow[]> {
  const entries = Object.entries(input.consumers) as [Sink, string][];
  const union = new Map<string, HeldMessage>();
  for (const [, consumer] of entries) for (const [id, m] of ctx.held.get(consumer) ?? []) union.set(id, m);
  const ids = [...union.keys()];
  const rows: ParityRow[] = [];
  for (const [sink, consumer] of entries) {
    const held = ctx.held.get(consumer) ?? new Map<string, HeldMessage>();
    const others = ids.filter((id) => !held.has(id));
    const applied = sink === 'warehouse' ? await ctx.warehouse.has(input.topic, others) : await ctx.sinks.applied(consumer, others);
    const lost = others.filter((id) => !applied.has(id));
    // Not applied yet but the consumer still has a backlog: it may yet.
    const verdict = lost.length === 0 ? 'ok' : ctx.lag.hasBacklog(consumer) ? 'pending' : 'mismatch';
    rows.push({
      topic: input.topic,
      window: 'range',
      start: new Date(ctx.fromMs).toISOString(),
      end: new Date(ctx.untilMs).toISOString(),
      check: 'dead-letters',
      item: consumer,
      counts: { [sink]: held.size },
      verdict,
      differences:
        verdict === 'mismatch'
          ? [
              {
                sink: consumer,
                summary: `${lost.length} event(s) held by another consumer of ${input.topic} are neither in ${consumer}'s hold nor applied by it`,
                sample: lost.slice(0, ctx.sample).map((id) => `${id} (${union.get(id)?.reason ?? 'unknown'})`),
              },
            ]
          : [],
    });
  }
  return rows;
}
