/**
 * The processor's group commit of analytics events (services/processor/analytics-commits.ts) on the
 * Firestore emulator, through the real client: the events in flight at once share one commit, and
 * every event is still applied exactly once, whatever its neighbours are:
 *
 * - grouped or one by one, the same events leave the same documents;
 * - a seen event inside a group answers 'duplicate' and its neighbours apply;
 * - the same event twice at once applies once;
 * - an event Firestore refuses fails alone, as poison ('rejected-by-sink'), and its neighbours apply;
 * - a group whose commit meets UNAVAILABLE sends every event back (the one stand-in here: see the
 *   test), and their redelivery applies each once.
 */
import { WriteBatch } from '@google-cloud/firestore';
import { PoisonError, TransientError, type DecodedEvent } from '../../shared/consumer';
import { REPLAY_ID_ATTRIBUTE } from '../../shared/replay/attribute';
import { LIKE_SHARDS, type AnalyticsEventData } from '../../services/processor/analytics';
import { ProcessorStore } from '../../services/processor/store';
import { testFirestore, uniqueProject } from '../support/emulators';

const CONSUMER = 'processor-analytics';
const TYPES = ['view', 'click', 'like.created', 'view', 'like.removed', 'share'];

let seq = 0;
function analyticsEvent(type: string, userId: string, postId: string, options: { id?: string; replayId?: string } = {}): DecodedEvent<AnalyticsEventData> {
  const id = options.id ?? `e-${process.pid}-${++seq}`;
  return {
    event: {
      id,
      type,
      specversion: '1.0',
      datacontenttype: 'application/json',
      source: '//test/analytics-commits',
      time: new Date().toISOString(),
      schemaVersion: 'v2',
      data: { userId, sessionId: 's', page: `/posts/${postId}`, element: '', postId, country: 'DE', durationMs: 0 },
    },
    readAs: 'v2',
    messageId: `m-${++seq}`,
    attributes: options.replayId ? { [REPLAY_ID_ATTRIBUTE]: options.replayId } : {},
  };
}

/** `n` events over 7 users and 3 posts, every type. */
function mix(n: number): DecodedEvent<AnalyticsEventData>[] {
  return Array.from({ length: n }, (_, i) => analyticsEvent(TYPES[i % TYPES.length], `u-${i % 7}`, `p-${i % 3}`));
}

/** Everything the analytics effects wrote: users (without their commit times) and like counts. */
async function effects(store: ProcessorStore) {
  const users: Record<string, unknown> = {};
  for (const doc of (await store.db.collection('users').get()).docs) {
    const { updatedAt, ...rest } = doc.data();
    expect(updatedAt).toBeDefined();
    users[doc.id] = rest;
  }
  const likes: Record<string, number> = {};
  for (const post of ['p-0', 'p-1', 'p-2']) likes[post] = await store.readLikeCount(post);
  return { users, likes };
}

/** The same events applied one by one in a project of their own. */
async function applied(events: DecodedEvent<AnalyticsEventData>[]): Promise<ProcessorStore> {
  const store = newStore('one-by-one');
  for (const e of events) await store.applyAnalyticsEvent(CONSUMER, e);
  return store;
}

const stores: ProcessorStore[] = [];
function newStore(name: string, maxCommitsInFlight?: number): ProcessorStore {
  const store = new ProcessorStore(testFirestore(uniqueProject(name)), { analyticsCommits: { maxCommitsInFlight } });
  stores.push(store);
  return store;
}
afterAll(() => Promise.all(stores.map((s) => s.db.terminate())));

it('leaves the same documents as one commit per event, in fewer commits', async () => {
  const events = mix(120);
  const grouped = newStore('grouped');
  const outcomes = await Promise.all(events.map((e) => grouped.applyAnalyticsEvent(CONSUMER, e)));
  expect(outcomes.every((o) => o.result === 'done')).toBe(true);
  const alone = await applied(events);

  const stats = grouped.analyticsCommits.stats;
  expect(stats.events).toBe(120);
  expect(stats.commits).toBeLessThan(120 / 4);
  expect(stats.largestGroup).toBeGreaterThan(10);
  expect(alone.analyticsCommits.stats.commits).toBe(120);

  const [a, b] = await Promise.all([effects(grouped), effects(alone)]);
  expect(a).toEqual(b);
  // The counts themselves, not only their agreement: 120 events over 7 users; the 20 likes land on
  // p-2 and the 20 removals on p-1 (mix()'s cycles).
  expect(Object.values(a.users).reduce((sum: number, u) => sum + (u as { total: number }).total, 0)).toBe(120);
  expect(a.likes).toEqual({ 'p-0': 0, 'p-1': -20, 'p-2': 20 });
  expect((await grouped.db.collection(`consumers/${CONSUMER}/dedup`).get()).size).toBe(120);
  // Likes go to the event's shard, LIKE_SHARDS of them per post at most.
  expect((await grouped.db.collection('posts/p-2/likeShards').get()).size).toBeLessThanOrEqual(LIKE_SHARDS);
});

it('answers duplicate for the seen events inside a group, and applies their neighbours', async () => {
  const store = newStore('seen-in-group', 1);
  const events = mix(30);
  const seen = events.filter((_, i) => i % 5 === 2);
  for (const e of seen) await store.applyAnalyticsEvent(CONSUMER, e);
  const commitsBefore = store.analyticsCommits.stats.commits;

  const outcomes = await Promise.all(events.map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  events.forEach((e, i) => expect([e.event.id, outcomes[i].result]).toEqual([e.event.id, seen.includes(e) ? 'duplicate' : 'done']));
  expect(store.analyticsCommits.stats.duplicatesFound).toBeGreaterThan(0);
  // A lone first commit, the group, its read and its commit again: not one commit per event.
  expect(store.analyticsCommits.stats.commits - commitsBefore).toBeLessThan(10);

  expect(await effects(store)).toEqual(await effects(await applied(events)));
});

it('applies the same event arriving twice at once exactly once', async () => {
  const store = newStore('twice-at-once');
  const event = analyticsEvent('like.created', 'twice-user', 'p-0');
  const filler = mix(10);
  const outcomes = await Promise.all([...filler, event, event, event].map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  expect(outcomes.slice(-3).map((o) => o.result)).toEqual(['done', 'duplicate', 'duplicate']);
  expect(store.analyticsCommits.stats.duplicatesJoined).toBe(2);
  expect(await store.readUserActivity('twice-user')).toEqual({ total: 1, counts: { like_created: 1 } });
  // mix() likes nothing on p-0: the one like is this event's.
  expect(await store.readLikeCount('p-0')).toBe(1);
});

it('fails an event Firestore refuses alone, as poison, and applies its neighbours', async () => {
  const store = newStore('refused', 1);
  const first = mix(1)[0];
  // A value over Firestore's field-value limit (1 MiB - 89 bytes; the event's type, which its dedup record
  // keeps): INVALID_ARGUMENT for this event's writes alone. In the mesh, decoding refuses such a type
  // first; the store is fed here directly.
  const refused = analyticsEvent('x'.repeat(1_100_000), 'refused-user', 'p-1');
  const neighbours = mix(12);
  const settled = await Promise.allSettled(
    [first, ...neighbours.slice(0, 6), refused, ...neighbours.slice(6)].map((e) => store.applyAnalyticsEvent(CONSUMER, e)),
  );
  const failure = settled[7];
  expect(failure.status).toBe('rejected');
  const error = (failure as PromiseRejectedResult).reason as PoisonError;
  expect(error).toBeInstanceOf(PoisonError);
  expect(error.reason).toBe('rejected-by-sink');
  expect(error.message).toContain(refused.event.id);
  expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<{ result: string }>).value.result)).toEqual(
    Array(13).fill('done'),
  );
  expect(store.analyticsCommits.stats.splits).toBe(1);
  expect((await store.db.collection(`consumers/${CONSUMER}/dedup`).get()).size).toBe(13);
  expect(await store.db.doc(`consumers/${CONSUMER}/dedup/${refused.event.id}`).get()).toMatchObject({ exists: false });
});

it('sends every event of a group back when Firestore is unavailable, and their redelivery applies each once', async () => {
  const store = newStore('unavailable', 1);
  const events = mix(8);
  // Firestore being down is the one thing not made for real here: the client waits for a connection to
  // a closed port well past a test's time (measured: over 120 s with a 1.5 s Commit timeout). The real
  // batch is built; only its commit answers UNAVAILABLE, as the client reports it.
  const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
  const commit = jest.spyOn(WriteBatch.prototype, 'commit').mockRejectedValue(unavailable);
  let settled: PromiseSettledResult<unknown>[];
  try {
    settled = await Promise.allSettled(events.map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  } finally {
    commit.mockRestore();
  }
  for (const s of settled) {
    expect(s.status).toBe('rejected');
    expect((s as PromiseRejectedResult).reason).toBeInstanceOf(TransientError);
  }
  expect(store.analyticsCommits.stats).toMatchObject({ commits: 2, events: 8, largestGroup: 7, splits: 0 });

  // Redelivered: each applied once, and once only.
  const outcomes = await Promise.all(events.map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  expect(outcomes.map((o) => o.result)).toEqual(Array(8).fill('done'));
  const again = await Promise.all(events.map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  expect(again.map((o) => o.result)).toEqual(Array(8).fill('duplicate'));
  expect((await effects(store)).users).toEqual((await effects(await applied(events))).users);
});

it("keeps the last replay's id on a user whatever real-time events share its commit", async () => {
  const store = newStore('replay-mark', 1);
  const user = 'replayed-user';
  const events = [
    analyticsEvent('view', 'someone-else', 'p-0'),
    analyticsEvent('view', user, 'p-0', { replayId: 'r-1' }),
    analyticsEvent('click', user, 'p-0'),
    analyticsEvent('view', user, 'p-0', { replayId: 'r-2' }),
    analyticsEvent('view', user, 'p-0'),
  ];
  await Promise.all(events.map((e) => store.applyAnalyticsEvent(CONSUMER, e)));
  const doc = await store.db.doc(`users/${user}`).get();
  expect(doc.get('lastReplayId')).toBe('r-2');
  expect(doc.get('total')).toBe(4);
  expect(doc.get('counts')).toEqual({ view: 3, click: 1 });
});
