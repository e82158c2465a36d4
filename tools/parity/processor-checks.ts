/**
 * The processor against the warehouse. Its effects are not windowed, so each entity touched in the
 * range (an order, a liked post, an active user) is compared over all its events the warehouse
 * stored, minus those the processor's consumer holds:
 *  - orders: the projection's state and last sequence against the order state machine
 *    (services/processor/orders.ts) applied to the order's events in publish order;
 *  - like-counters: each post's net likes;
 *  - activity: each user's events per type.
 */
import { activityField, likeDelta } from '../../services/processor/analytics';
import { applyOrderEvent, type OrderEventData, type OrderProjection } from '../../services/processor/orders';
import type { ParityContext } from './context';
import type { ParityRow, Verdict } from './types';
import type { StoredEvent } from './warehouse';

export interface ProcessorCheckInput {
  topic: string;
  /** The processor's consumer of the topic. */
  consumer: string;
  /** The warehouse's consumer of the topic. */
  warehouseConsumer: string;
  /** Event ids the processor's consumer holds. */
  heldIds: Set<string>;
}

interface EntityDiff {
  id: string;
  text: string;
  /** The processor is behind the warehouse (fewer events applied) or ahead of it. */
  processorBehind: boolean;
  newestPublishMs: number;
}

export async function processorRows(ctx: ParityContext, input: ProcessorCheckInput): Promise<ParityRow[]> {
  if (input.topic === 'orders') return orderRows(ctx, input);
  if (input.topic === 'analytics') return [...(await likeRows(ctx, input)), ...(await activityRows(ctx, input))];
  return [];
}

function rangeBase(ctx: ParityContext, topic: string) {
  return { topic, window: 'range', start: new Date(ctx.fromMs).toISOString(), end: new Date(ctx.untilMs).toISOString() };
}

/** Differences that a lagging sink explains are pending; the rest are mismatches. */
function judge(ctx: ParityContext, input: ProcessorCheckInput, diffs: EntityDiff[]): { verdict: Verdict; mismatched: EntityDiff[] } {
  const horizon = ctx.lag.horizon([input.consumer, input.warehouseConsumer]);
  const mismatched = diffs.filter(
    (d) => d.newestPublishMs < horizon && !(d.processorBehind ? ctx.lag.hasBacklog(input.consumer) : ctx.lag.hasBacklog(input.warehouseConsumer)),
  );
  return { verdict: mismatched.length ? 'mismatch' : diffs.length ? 'pending' : 'ok', mismatched };
}

async function storedEvents(ctx: ParityContext, input: ProcessorCheckInput, field: string, types?: string[]): Promise<Map<string, StoredEvent[]>> {
  const ids = await ctx.warehouse.entities(input.topic, field, ctx.fromMs, ctx.untilMs, types);
  const byEntity = new Map<string, StoredEvent[]>(ids.map((id) => [id, []]));
  for (const e of await ctx.warehouse.eventsOf(input.topic, field, ids)) {
    if (input.heldIds.has(e.id) || (types && !types.includes(e.type))) continue;
    byEntity.get(String(e.data[field]))?.push(e);
  }
  return byEntity;
}

const newest = (events: StoredEvent[]) => events.reduce((max, e) => Math.max(max, e.publishTimeMs), 0);

async function orderRows(ctx: ParityContext, input: ProcessorCheckInput): Promise<ParityRow[]> {
  const byOrder = await storedEvents(ctx, input, 'orderId');
  const replayed = new Map<string, OrderProjection | undefined>();
  for (const [orderId, events] of byOrder) {
    let projection: OrderProjection | undefined;
    for (const e of events)
      projection = applyOrderEvent(projection, { id: e.id, type: e.type, time: e.time, data: e.data as unknown as OrderEventData }).projection;
    replayed.set(orderId, projection);
  }
  const projections = await ctx.sinks.orders([...byOrder.keys()]);
  const want: Record<string, number> = {};
  const have: Record<string, number> = {};
  const diffs: (EntityDiff & { states: string[] })[] = [];
  const describe = (p: OrderProjection | undefined) => (p ? `${p.state} seq ${p.lastSequence}` : 'none');
  for (const [orderId, expected] of replayed) {
    const actual = projections.get(orderId);
    if (expected) want[expected.state] = (want[expected.state] ?? 0) + 1;
    if (actual) have[actual.state] = (have[actual.state] ?? 0) + 1;
    if (expected?.state === actual?.state && expected?.lastSequence === actual?.lastSequence) continue;
    diffs.push({
      id: orderId,
      text: `${orderId} (processor: ${describe(actual)}; warehouse replay: ${describe(expected)})`,
      processorBehind: (actual?.lastSequence ?? 0) < (expected?.lastSequence ?? 0),
      newestPublishMs: newest(byOrder.get(orderId)!),
      states: [expected?.state ?? 'none', actual?.state ?? 'none'],
    });
  }
  const states = [...new Set([...Object.keys(want), ...Object.keys(have), ...diffs.flatMap((d) => d.states).filter((s) => s !== 'none')])].sort();
  return states.map((state) => {
    const mine = diffs.filter((d) => d.states.includes(state));
    const { verdict, mismatched } = judge(ctx, input, mine);
    return {
      ...rangeBase(ctx, input.topic),
      check: 'orders' as const,
      item: state,
      counts: { warehouse: want[state] ?? 0, processor: have[state] ?? 0 },
      verdict,
      differences: mismatched.length
        ? [
            {
              sink: 'processor',
              summary: `${mismatched.length} order(s) whose projection is not the warehouse's events replayed`,
              sample: mismatched.slice(0, ctx.sample).map((d) => d.text),
            },
          ]
        : [],
    };
  });
}

async function likeRows(ctx: ParityContext, input: ProcessorCheckInput): Promise<ParityRow[]> {
  const likeTypes = ['like.created', 'like.removed'];
  const byPost = await storedEvents(ctx, input, 'postId', likeTypes);
  if (!byPost.size) return [];
  const counts = await ctx.sinks.likeCounts([...byPost.keys()]);
  let want = 0;
  let have = 0;
  const diffs: EntityDiff[] = [];
  for (const [postId, events] of byPost) {
    const expected = events.reduce((n, e) => n + likeDelta(e.type), 0);
    const actual = counts.get(postId) ?? 0;
    want += expected;
    have += actual;
    if (expected !== actual)
      diffs.push({
        id: postId,
        text: `${postId} (processor ${actual}, warehouse ${expected})`,
        processorBehind: actual < expected,
        newestPublishMs: newest(events),
      });
  }
  const { verdict, mismatched } = judge(ctx, input, diffs);
  return [
    {
      ...rangeBase(ctx, input.topic),
      check: 'like-counters',
      item: `net likes of ${byPost.size} posts`,
      counts: { warehouse: want, processor: have },
      verdict,
      differences: mismatched.length
        ? [
            {
              sink: 'processor',
              summary: `${mismatched.length} post(s) whose like counter differs`,
              sample: mismatched.slice(0, ctx.sample).map((d) => d.text),
            },
          ]
        : [],
    },
  ];
}

async function activityRows(ctx: ParityContext, input: ProcessorCheckInput): Promise<ParityRow[]> {
  const byUser = await storedEvents(ctx, input, 'userId');
  if (!byUser.size) return [];
  const activity = await ctx.sinks.activity([...byUser.keys()]);
  const want = new Map<string, number>();
  const have = new Map<string, number>();
  const diffs = new Map<string, EntityDiff[]>();
  for (const [userId, events] of byUser) {
    const expected: Record<string, number> = {};
    for (const e of events) expected[activityField(e.type)] = (expected[activityField(e.type)] ?? 0) + 1;
    const actual = activity.get(userId) ?? {};
    for (const field of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const e = expected[field] ?? 0;
      const a = Number(actual[field] ?? 0);
      want.set(field, (want.get(field) ?? 0) + e);
      have.set(field, (have.get(field) ?? 0) + a);
      if (e === a) continue;
      const list = diffs.get(field) ?? [];
      diffs.set(field, list);
      list.push({ id: userId, text: `${userId} (processor ${a}, warehouse ${e})`, processorBehind: a < e, newestPublishMs: newest(events) });
    }
  }
  return [...want.keys()].sort().map((field) => {
    const { verdict, mismatched } = judge(ctx, input, diffs.get(field) ?? []);
    return {
      ...rangeBase(ctx, input.topic),
      check: 'activity' as const,
      item: field,
      counts: { warehouse: want.get(field) ?? 0, processor: have.get(field) ?? 0 },
      verdict,
      differences: mismatched.length
        ? [
            {
              sink: 'processor',
              summary: `${mismatched.length} user(s) whose ${field} count differs`,
              sample: mismatched.slice(0, ctx.sample).map((d) => d.text),
            },
          ]
        : [],
    };
  });
}
