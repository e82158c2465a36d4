/**
 * The smoke's checks: one per consumer effect, each reading the sink the way its service does, with
 * the same clients locally and in GCP (target.ts). Each check is evaluated again on every round
 * until all pass at once (so a late over-count shows), except the dead-letter ones, which find and
 * take the run's poison once (holds.ts).
 */
import { Timestamp } from '@google-cloud/firestore';
import { consumerResources, type ConsumerSpec, type MeshSpec } from '../../shared/spec';
import { DashboardLayout } from '../../services/dashboard/layout';
import { ProcessorStore } from '../../services/processor/store';
import { firestorePaths } from '../../shared/firestore';
import { eventsDedupViewName } from '../../shared/warehouse';
import { describeCounts, SMOKE_RUN_ATTRIBUTE, SMOKE_TOPICS, POISON_REASON, type SmokePlan, type SmokeTopic } from './mix';
import { sweepHold } from './holds';
import type { SmokeTarget } from './target';

export interface CheckOutcome {
  ok: boolean;
  /** What was found, in the same terms as `expected`. */
  seen: string;
}

export interface SmokeCheck {
  id: string;
  /** The service (or consumer) whose work it checks. */
  service: string;
  title: string;
  expected: string;
  /** Passed once, passed for good (the dead-letter peek takes the poison out of the hold). */
  sticky?: boolean;
  run(round: number): Promise<CheckOutcome>;
}

export interface CheckOptions {
  /** Leave the run's poison in the holds (default: ack it, see holds.ts). */
  keepDeadLetters?: boolean;
}

const SHOW = 3;

/** "a, b, c and 4 more" */
function some(items: string[]): string {
  return items.length <= SHOW ? items.join('; ') : `${items.slice(0, SHOW).join('; ')} and ${items.length - SHOW} more`;
}

/** Memoises a read per round, for checks that share it. */
function perRound<T>(read: () => Promise<T>): (round: number) => Promise<T> {
  let cached: { round: number; value: Promise<T> } | undefined;
  return (round) => {
    if (cached?.round !== round) cached = { round, value: read() };
    return cached.value;
  };
}

function consumersOf(spec: MeshSpec, service: string, topic: SmokeTopic): ConsumerSpec[] {
  return Object.values(spec.consumers).filter((c) => c.service === service && c.topic === topic && (c.delivery === 'push' || c.delivery === 'pull'));
}

/** The checks the spec calls for: only those of services and topics it has. */
export function buildChecks(spec: MeshSpec, target: SmokeTarget, plan: SmokePlan, options: CheckOptions = {}): SmokeCheck[] {
  const checks: SmokeCheck[] = [];
  const { expected } = plan;
  const db = target.firestore;

  // Processor: order projections, the anomaly, like counters, user activity.
  const store = new ProcessorStore(db);
  if (consumersOf(spec, 'processor', 'orders').length) {
    const orderIds = Object.keys(expected.orders);
    const wantStates: Record<string, number> = {};
    for (const o of Object.values(expected.orders)) wantStates[o.state] = (wantStates[o.state] ?? 0) + 1;
    checks.push({
      id: 'processor.orders',
      service: 'processor',
      title: 'order projections',
      expected: `${orderIds.length} orders: ${describeCounts(wantStates)}`,
      async run() {
        const snaps = await db.getAll(...orderIds.map((id) => store.orderRef(id)));
        const states: Record<string, number> = {};
        const wrong: string[] = [];
        snaps.forEach((snap, i) => {
          const want = expected.orders[orderIds[i]];
          const got = snap.exists ? snap.data()! : undefined;
          const state = got ? String(got.state) : 'missing';
          states[state] = (states[state] ?? 0) + 1;
          if (!got) wrong.push(`${orderIds[i]} missing`);
          else if (got.state !== want.state || got.lastSequence !== want.lastSequence || got.anomalyCount !== want.anomalies.length) {
            wrong.push(
              `${orderIds[i]} ${got.state} seq ${got.lastSequence} anomalies ${got.anomalyCount} (want ${want.state} seq ${want.lastSequence} anomalies ${want.anomalies.length})`,
            );
          }
        });
        return { ok: wrong.length === 0, seen: `${describeCounts(states)}${wrong.length ? `; ${some(wrong)}` : ''}` };
      },
    });
    for (const [orderId, want] of Object.entries(expected.orders).filter(([, o]) => o.anomalies.length)) {
      const describe = (a: { kind: string; reason: string }) => `${a.kind}: ${a.reason}`;
      checks.push({
        id: `processor.anomaly.${orderId}`,
        service: 'processor',
        title: `anomaly of order ${orderId.slice(plan.runId.length + 1)}`,
        expected: want.anomalies.map(describe).join('; '),
        async run() {
          const found = await store.readAnomalies(orderId);
          const ok = found.length === want.anomalies.length && want.anomalies.every((w) => found.some((f) => f.kind === w.kind && f.reason.includes(w.reason)));
          return { ok, seen: found.length ? found.map(describe).join('; ') : 'none' };
        },
      });
    }
  }
  if (consumersOf(spec, 'processor', 'analytics').length) {
    checks.push({
      id: 'processor.likes',
      service: 'processor',
      title: 'like counters',
      expected: Object.entries(expected.likes)
        .map(([post, n]) => `${post.slice(plan.runId.length + 1)}=${n}`)
        .join(' '),
      async run() {
        const posts = Object.keys(expected.likes);
        const counts = await Promise.all(posts.map((p) => store.readLikeCount(p)));
        return {
          ok: posts.every((p, i) => counts[i] === expected.likes[p]),
          seen: posts.map((p, i) => `${p.slice(plan.runId.length + 1)}=${counts[i]}`).join(' '),
        };
      },
    });
    const users = Object.keys(expected.activity);
    const events = users.reduce((n, u) => n + expected.activity[u].total, 0);
    checks.push({
      id: 'processor.activity',
      service: 'processor',
      title: 'user activity',
      expected: `${users.length} users, ${events} events by type`,
      async run() {
        const snaps = await db.getAll(...users.map((u) => db.doc(firestorePaths.user(u))));
        let total = 0;
        const wrong: string[] = [];
        snaps.forEach((snap, i) => {
          const want = expected.activity[users[i]];
          const got = { total: Number(snap.get('total') ?? 0), counts: (snap.exists ? snap.get('counts') : undefined) ?? {} };
          total += got.total;
          const same =
            got.total === want.total && Object.keys({ ...want.counts, ...got.counts }).every((k) => Number(got.counts[k] ?? 0) === (want.counts[k] ?? 0));
          if (!same) wrong.push(`${users[i]}: ${got.total} (want ${want.total})`);
        });
        return { ok: wrong.length === 0, seen: `${users.length - wrong.length} users right, ${total} events${wrong.length ? `; ${some(wrong)}` : ''}` };
      },
    });
  }

  // Dashboard: the run's own minute window, read as the dashboard's reader sums it (every shard).
  const layout = new DashboardLayout(db);
  const dashboardWindow = perRound(async () => {
    const snap = await layout.shards('minute').where('start', '==', Timestamp.fromMillis(plan.window.startMs)).get();
    const events: Record<string, Record<string, number>> = {};
    for (const doc of snap.docs) {
      for (const [topic, types] of Object.entries((doc.get('events') ?? {}) as Record<string, Record<string, number>>)) {
        for (const [type, n] of Object.entries(types)) (events[topic] ??= {})[type] = (events[topic]?.[type] ?? 0) + Number(n);
      }
    }
    return events;
  });
  for (const topic of SMOKE_TOPICS.filter((t) => consumersOf(spec, 'dashboard', t).length)) {
    checks.push({
      id: `dashboard.${topic}`,
      service: 'dashboard',
      title: `${topic} in window ${plan.window.key}`,
      expected: describeCounts(expected.distinct[topic]),
      async run(round) {
        const seen = (await dashboardWindow(round))[topic] ?? {};
        const types = new Set([...Object.keys(seen), ...Object.keys(expected.distinct[topic])]);
        return { ok: [...types].every((t) => (seen[t] ?? 0) === (expected.distinct[topic][t] ?? 0)), seen: describeCounts(seen) };
      },
    });
  }

  // Warehouse: the dedup view, the run's rows only (its source), within the run's minute (event_time prunes partitions).
  for (const topic of SMOKE_TOPICS.filter((t) => consumersOf(spec, 'warehouse', t).length)) {
    const ids = new Set(expected.ids[topic]);
    const view = `\`${target.project}.${spec.warehouse.dataset}.${eventsDedupViewName(topic)}\``;
    checks.push({
      id: `warehouse.${topic}`,
      service: 'warehouse',
      title: `${eventsDedupViewName(topic)} rows`,
      expected: `${ids.size} rows, one per event id`,
      async run() {
        const [rows] = await target.bigquery.query({
          query: `SELECT event_id FROM ${view} WHERE source = @source AND event_time >= @from AND event_time < @to`,
          params: { source: plan.source, from: new Date(plan.window.startMs), to: new Date(plan.window.startMs + 60_000) },
          location: spec.warehouse.location,
        });
        const got = (rows as { event_id: string }[]).map((r) => r.event_id);
        const distinct = new Set(got);
        const missing = [...ids].filter((id) => !distinct.has(id)).length;
        const unexpected = [...distinct].filter((id) => !ids.has(id)).length;
        const repeated = got.length - distinct.size;
        const problems = [missing && `${missing} missing`, repeated && `${repeated} repeated`, unexpected && `${unexpected} not the run's`].filter(Boolean);
        return { ok: problems.length === 0, seen: `${got.length} rows, ${distinct.size} event ids${problems.length ? ` (${problems.join(', ')})` : ''}` };
      },
    });
  }

  // Dead letters: every push/pull consumer of a topic saw that topic's poison and holds it.
  for (const consumer of Object.values(spec.consumers)) {
    const topic = consumer.topic as SmokeTopic;
    if (!SMOKE_TOPICS.includes(topic) || (consumer.delivery !== 'push' && consumer.delivery !== 'pull')) continue;
    const hold = consumerResources(consumer).deadLetterHold;
    let looked = 0;
    checks.push({
      id: `dead-letters.${consumer.name}`,
      service: consumer.name,
      title: `${topic} poison in ${hold.slice(consumer.name.length + 1)}`,
      expected: `held, reason ${POISON_REASON}`,
      sticky: true,
      async run() {
        const sweep = await sweepHold({
          pubsub: target.pubsub,
          hold,
          eventId: expected.poison[topic],
          runAttribute: [SMOKE_RUN_ATTRIBUTE, plan.runId],
          keep: options.keepDeadLetters,
        });
        looked = Math.max(looked, sweep.looked);
        if (sweep.found) {
          const by = sweep.found.consumer && sweep.found.consumer !== consumer.name ? ` (dead-lettered by ${sweep.found.consumer})` : '';
          const kept = options.keepDeadLetters ? ', left in the hold' : ', taken out of the hold';
          return { ok: sweep.found.reason === POISON_REASON, seen: `held, reason ${sweep.found.reason ?? 'none'}${by}${kept}` };
        }
        return { ok: false, seen: sweep.error ? `cannot read the hold: ${sweep.error}` : `not among the ${looked} held message${looked === 1 ? '' : 's'}` };
      },
    });
  }
  return checks;
}
