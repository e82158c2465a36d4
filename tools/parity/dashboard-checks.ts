/**
 * The dashboard against the warehouse, window by window: events per type, order events per state,
 * net likes, and unique users (its HyperLogLog estimate within the sketch's error). What the
 * dashboard's consumer refused and holds is taken off what it should have counted.
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { HLL_STANDARD_ERROR } from '../../services/dashboard/hll';
import type { WindowAggregate } from '../../services/dashboard/reader';
import { likeDeltaOf, orderStateOf, userFieldOf, windowKey, windowSizeMs, windowStart } from '../../services/dashboard/windows';
import { consumerNames, type ParityContext } from './context';
import type { ParityDifference, ParityRow, Verdict } from './types';

/** The estimate may differ from the exact count by this many standard errors (and always by 1). */
const USERS_TOLERANCE_SE = 4;

type Counts = Map<number, Map<string, number>>;

function add(counts: Counts, startMs: number, type: string, n: number): void {
  const byType = counts.get(startMs) ?? new Map<string, number>();
  counts.set(startMs, byType);
  byType.set(type, (byType.get(type) ?? 0) + n);
}

export interface DashboardCheckInput {
  topic: string;
  /** The dashboard's consumer of the topic. */
  consumer: string;
  windows: Map<number, WindowAggregate>;
  /** Events the dashboard's consumer holds that the warehouse stored. */
  heldStored: HeldMessage[];
  /** Whether this topic alone carries like events among the dashboard's topics (likes are one number per window). */
  ownsLikes: boolean;
}

export async function dashboardRows(ctx: ParityContext, input: DashboardCheckInput): Promise<ParityRow[]> {
  const { topic, windows } = input;
  const g = ctx.granularity;
  const size = windowSizeMs(g);
  const stored: Counts = new Map();
  for (const c of await ctx.warehouse.windowCounts(topic, g, ctx.fromMs, ctx.untilMs)) add(stored, c.startMs, c.type, c.events);
  const held: Counts = new Map();
  const heldIds = new Set<string>();
  for (const m of input.heldStored) {
    const t = Date.parse(m.time ?? '');
    if (!Number.isFinite(t) || t < ctx.fromMs || t >= ctx.untilMs) continue;
    add(held, windowStart(g, t), m.type ?? '', 1);
    heldIds.add(m.eventId!);
  }
  const users = ctx.warehouse.hasField(topic, userFieldOf(topic))
    ? await ctx.warehouse.distinctPerWindow(topic, userFieldOf(topic), g, ctx.fromMs, ctx.untilMs)
    : undefined;
  const starts = new Set([...stored.keys(), ...[...windows].filter(([, w]) => w.topics[topic]).map(([s]) => s)]);
  const consumers = consumerNames(ctx.spec, topic);
  const rows: ParityRow[] = [];

  for (const startMs of [...starts].sort((a, b) => a - b)) {
    const endMs = startMs + size;
    const base = { topic, window: windowKey(g, startMs), start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() };
    const pending = ctx.lag.windowPending(consumers, endMs);
    const verdict = (equal: boolean): Verdict => (pending ? 'pending' : equal ? 'ok' : 'mismatch');
    const w = windows.get(startMs);
    const seen = w?.events[topic] ?? {};
    const storedTypes = stored.get(startMs) ?? new Map<string, number>();
    const heldTypes = held.get(startMs) ?? new Map<string, number>();
    const types = [...new Set([...storedTypes.keys(), ...Object.keys(seen)])].sort();
    let likes = 0;
    let likesSeen = false;
    for (const type of types) {
      const warehouse = storedTypes.get(type) ?? 0;
      const refused = heldTypes.get(type) ?? 0;
      const expected = warehouse - refused;
      const counted = Number(seen[type] ?? 0);
      const explain = async (sinkCount: number): Promise<ParityDifference[]> =>
        verdict(sinkCount === expected) === 'mismatch' ? [await explainCount(ctx, input, type, startMs, endMs, expected, sinkCount, heldIds)] : [];
      rows.push({
        ...base,
        check: 'events',
        item: type,
        counts: { warehouse, dashboard: counted },
        ...(refused ? { held: { dashboard: refused } } : {}),
        verdict: verdict(counted === expected),
        differences: await explain(counted),
      });
      const state = orderStateOf(topic, type);
      if (state) {
        const inState = Number(w?.orders[state] ?? 0);
        rows.push({
          ...base,
          check: 'order-states',
          item: state,
          counts: { warehouse, dashboard: inState },
          ...(refused ? { held: { dashboard: refused } } : {}),
          verdict: verdict(inState === expected),
          differences: await explain(inState),
        });
      }
      const delta = likeDeltaOf(type);
      if (delta !== undefined && input.ownsLikes) {
        likes += delta * expected;
        likesSeen = true;
      }
    }
    if (likesSeen) {
      const net = Number(w?.likes ?? 0);
      rows.push({
        ...base,
        check: 'likes',
        item: 'net',
        counts: { warehouse: likes, dashboard: net },
        verdict: verdict(net === likes),
        differences:
          verdict(net === likes) === 'mismatch'
            ? [{ sink: 'dashboard', summary: `net likes ${net}, the warehouse's events give ${likes} (see the like.created / like.removed rows)`, sample: [] }]
            : [],
      });
    }
    const exact = users?.get(startMs);
    if (exact !== undefined) {
      const estimate = Number(w?.users.byTopic[topic] ?? 0);
      const tolerance = Math.max(1, Math.ceil(USERS_TOLERANCE_SE * HLL_STANDARD_ERROR * exact));
      const within = Math.abs(estimate - exact) <= tolerance;
      rows.push({
        ...base,
        check: 'users',
        item: 'distinct',
        counts: { warehouse: exact, dashboard: estimate },
        verdict: verdict(within),
        differences:
          verdict(within) === 'mismatch'
            ? [{ sink: 'dashboard', summary: `estimates ${estimate} unique users, the warehouse has ${exact} (tolerance ±${tolerance})`, sample: [] }]
            : [],
      });
    }
  }
  return rows;
}

/** Why the dashboard's number for one type and window differs: the events it never counted, or a changed counter. */
async function explainCount(
  ctx: ParityContext,
  input: DashboardCheckInput,
  type: string,
  startMs: number,
  endMs: number,
  expected: number,
  counted: number,
  heldIds: Set<string>,
): Promise<ParityDifference> {
  const { consumer } = input;
  if (counted > expected) {
    return {
      sink: 'dashboard',
      summary: `counts ${counted - expected} more ${type} than the warehouse stored: events the warehouse lacks, or a counter raised outside the mesh`,
      sample: [],
    };
  }
  const ids = (await ctx.warehouse.ids(input.topic, type, startMs, endMs)).filter((id) => !heldIds.has(id));
  const applied = await ctx.sinks.applied(consumer, ids);
  const missing = ids.filter((id) => !applied.has(id));
  if (missing.length) {
    return {
      sink: 'dashboard',
      summary: `${expected - counted} ${type} short; ${missing.length} of the warehouse's events were never counted (no ${consumer} dedup record, not in its hold)`,
      sample: missing.slice(0, ctx.sample),
    };
  }
  return {
    sink: 'dashboard',
    summary: `${expected - counted} ${type} short, yet every event has its ${consumer} dedup record: the counter was changed outside the mesh (by hand, or a write lost after its dedup record)`,
    sample: [],
  };
}
