/**
 * SIGTERM mid-stream loses nothing: the processor runs as a child process (`node --import tsx
 * services/processor/index.ts`), receives real pushes and pulls, is stopped with SIGTERM while
 * events are flowing, restarted, and every event's effect is then present exactly once, in order.
 * Once per pull transport: unary (the emulator default) and StreamingPull (GCP's). With StreamingPull
 * the emulator may hand out a key's later messages before those the stop sent back (GCP does not), so
 * there an order out of sequence must be explained by its delivery attempts (support/order-sequence.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { MeshPublisher, type Published } from '../../shared/publisher';
import { parseSpec } from '../../shared/spec';
import { ProcessorStore } from '../../services/processor/store';
import type { PullTransport, StatsSnapshot } from '../../shared/consumer';
import { eventually, firestoreHost, pubsubHost, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { emulatorReorder } from '../support/order-sequence';
import { getJson, killAll, startServiceProcess, waitReady, type ServiceProcess } from '../support/service-process';
import { REPO_TOPICS_YAML } from '../support/specs';

const specText = (transport: PullTransport) => `
version: 1
project: sigterm-test
${REPO_TOPICS_YAML}
services:
  processor: { localPort: 18082 }
consumers:
  processor-analytics: { topic: analytics, delivery: push, service: processor, ackDeadline: 10s, retry: { minBackoff: 1s, maxBackoff: 5s }, deadLetter: { maxAttempts: 50 } }
  processor-orders: { topic: orders, delivery: pull, service: processor, ordering: true, exactlyOnce: true, ackDeadline: 60s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 20 }${transport === 'unary' ? ', flowControl: { maxMessages: 100 }' : ''} }
warehouse: { dataset: test }
`;

const ORDERS = 300; // x3 events (created, paid, shipped)
// With unary Pull the orders consumer pulls at most 100 at a time, so the stop finishes what it pulled within its
// budget even on a loaded machine (asserted below). What a stop cannot finish is sent back, and the
// emulator (not GCP) may then hand out a key's later messages first (docs/consumers.md, "ordered
// redelivery"). A CI run saw orders' later steps run before their creation; one way there, fixed
// since, was the stop sending back unstarted what the last unary Pull brought after the drain began.
// StreamingPull keeps the default: the emulator streams past flow control, so a smaller window only
// leaves the backlog waiting in the client past its leases (exactly-once acks then fail; CI saw it).
const USERS = 60;
const CLICKS_PER_USER = 10;
const TOTAL = ORDERS * 3 + USERS * CLICKS_PER_USER;

describe.each<PullTransport>(['unary', 'streaming'])('processor with %s pull', (transport) => {
  const project = uniqueProject(`sigterm-${transport}`);
  let dir: string;
  let specFile: string;
  let port: number;
  let pubsub: PubSub;
  let firestore: Firestore;
  function startProcessor(): ServiceProcess {
    return startServiceProcess('processor', {
      MESH_SPEC: specFile,
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_EMULATOR_HOST: pubsubHost(),
      FIRESTORE_EMULATOR_HOST: firestoreHost(),
      PORT: String(port),
      MESH_VERIFY_PUSH_AUTH: 'false',
      LOG_LEVEL: 'info',
      MESH_PULL_TRANSPORT: transport,
    });
  }

  const baseUrl = () => `http://127.0.0.1:${port}`;
  const stats = () => getJson<StatsSnapshot>(baseUrl(), '/stats');
  const handled = (s: StatsSnapshot) => Object.values(s.consumers).reduce((sum, c) => sum + c.done + c.duplicate, 0);
  const waitProcessorReady = () => waitReady(baseUrl(), 45000, 'the processor to be ready');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-sigterm-'));
    specFile = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(specFile, specText(transport));
    port = await freePort();
    pubsub = testPubSub(project);
    firestore = testFirestore(project);
    await applyLocal({ pubsub, spec: parseSpec(specText(transport), specFile), serviceUrls: { processor: `http://127.0.0.1:${port}` } });
  });

  afterAll(async () => {
    killAll();
    await pubsub?.close();
    await firestore?.terminate();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing, applies nothing twice and keeps every order in sequence (or the emulator explains why not) across a SIGTERM mid-stream', async () => {
    const first = startProcessor();
    await waitProcessorReady();

    const publisher = new MeshPublisher({ pubsub, spec: parseSpec(specText(transport), specFile), source: '//sigterm-test' });
    const published: Promise<unknown>[] = [];
    for (const [step, type] of ['order.created', 'order.paid', 'order.shipped'].entries()) {
      for (let o = 0; o < ORDERS; o++) published.push(publisher.publish('orders', type, { orderId: `order-${o}`, customerId: 'c', sequence: step + 1 }));
    }
    for (let i = 0; i < CLICKS_PER_USER; i++)
      for (let u = 0; u < USERS; u++) published.push(publisher.publish('analytics', 'click', { userId: `user-${u}`, page: '/p' }));
    const allPublished = Promise.all(published) as Promise<Published[]>;

    // SIGTERM once some, not all, events are handled.
    await eventually(
      async () => {
        const s = await stats();
        return s && handled(s) >= TOTAL * 0.15 ? true : undefined;
      },
      30000,
      'the first events to be handled',
    );
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    const stopSeconds = (Date.now() - signalledAt) / 1000;
    expect(exit.code).toBe(0);
    expect(stopSeconds).toBeLessThan(10);
    const stopped = first.lines.find((l) => l.message === 'stopped') as { stats: Record<string, { done: number }> } | undefined;
    expect(stopped).toBeDefined();
    const doneBeforeRestart = Object.values(stopped!.stats).reduce((sum, c) => sum + c.done, 0);
    expect(doneBeforeRestart).toBeLessThan(TOTAL); // it really was mid-stream
    // It finished what it had pulled: only the deadline (or a crash) may send a key back out of turn.
    expect(first.lines.filter((l) => String(l.message).startsWith('handlers still running')).map((l) => l.message)).toEqual([]);
    const publishedEvents = await allPublished;

    /**
     * Prints what each of these orders' events left behind: its dedup record (when, which delivery),
     * its place in the projection, and what both processes logged about it (a CI run once lost later
     * steps of 249 orders with all dedup records present; the Firestore emulator lets two commits under
     * the same update-time precondition both through, docs/consumers.md, "emulator gaps").
     */
    const explainLostSteps = async (orderIds: string[]) => {
      for (const orderId of orderIds) {
        const events = publishedEvents.filter((p) => (p.event.data as { orderId?: string }).orderId === orderId).map((p) => p.event);
        const dedups = await Promise.all(events.map((e) => firestore.doc(`consumers/processor-orders/dedup/${e.id}`).get()));
        const logged = [...first.lines, ...second.lines].filter((l) => events.some((e) => JSON.stringify(l).includes(e.id)));
        console.log(
          JSON.stringify({
            orderId,
            projection: (await firestore.doc(`orders/${orderId}`).get()).data(),
            events: events.map((e, i) => ({
              id: e.id,
              type: e.type,
              dedup: dedups[i].exists ? { ...dedups[i].data(), updateTime: dedups[i].updateTime?.toDate() } : null,
            })),
            logged,
          }),
        );
      }
    };
    /** Why an order ran out of sequence, if the emulator explains it (test/support/order-sequence.ts). */
    const explainReorder = async (orderId: string, attemptOf: Map<string, number>): Promise<string | undefined> => {
      const steps = publishedEvents
        .map((p) => p.event)
        .filter((e) => (e.data as { orderId?: string }).orderId === orderId)
        .map((e) => ({ eventId: e.id, sequence: (e.data as { sequence: number }).sequence, deliveryAttempt: attemptOf.get(e.id) }));
      const history = ((await firestore.doc(`orders/${orderId}`).get()).get('history') as { eventId: string }[]).map((h) => h.eventId);
      const anomalies = (await firestore.collection(`orders/${orderId}/anomalies`).get()).docs.map((d) => d.id);
      return emulatorReorder(steps, history, anomalies);
    };
    const second = startProcessor();
    await waitProcessorReady();
    const store = new ProcessorStore(firestore);
    await eventually(
      async () => {
        const [orders, analytics] = await Promise.all([
          firestore.collection('consumers/processor-orders/dedup').count().get(),
          firestore.collection('consumers/processor-analytics/dedup').count().get(),
        ]);
        return orders.data().count === ORDERS * 3 && analytics.data().count === USERS * CLICKS_PER_USER ? true : undefined;
      },
      90000,
      `all ${TOTAL} events to be handled`,
    ).catch(async (error) => {
      const [orders, analytics] = await Promise.all([
        firestore.collection('consumers/processor-orders/dedup').count().get(),
        firestore.collection('consumers/processor-analytics/dedup').count().get(),
      ]);
      console.log(
        'handled orders',
        orders.data().count,
        'analytics',
        analytics.data().count,
        JSON.stringify(await stats()),
        second.lines.filter((l) => l.severity !== 'DEBUG' && l.severity !== 'INFO').slice(0, 20),
      );
      throw error;
    });

    // Every effect exactly once.
    const orders = await firestore.collection('orders').get();
    expect(orders.size).toBe(ORDERS);
    const notInOrder = orders.docs
      .filter(
        (doc) =>
          doc.get('state') !== 'shipped' ||
          doc.get('anomalyCount') !== 0 ||
          doc
            .get('history')
            .map((h: { sequence: number }) => h.sequence)
            .join() !== '1,2,3',
      )
      .map((doc) => ({
        orderId: doc.id,
        state: doc.get('state'),
        history: doc.get('history').map((h: { sequence: number; applied: boolean }) => `${h.sequence}${h.applied ? '' : ' (not applied)'}`),
      }));
    const orderDedups = await firestore.collection('consumers/processor-orders/dedup').get();
    // Every event's record says which delivery applied it (the subscription has a dead-letter policy).
    expect(orderDedups.docs.filter((d) => !(d.get('deliveryAttempt') >= 1)).map((d) => d.id)).toEqual([]);
    const attemptOf = new Map(orderDedups.docs.map((d) => [d.id, d.get('deliveryAttempt') as number]));
    const unexplained: typeof notInOrder = [];
    for (const order of notInOrder) {
      const why = await explainReorder(order.orderId, attemptOf);
      if (!why) unexplained.push(order);
      else console.log(`${order.orderId} ran out of sequence on the emulator (${transport} pull): ${why}`);
    }
    // Unary Pull settles everything it pulled before it stops, so nothing goes back and every order is in sequence.
    const wrong = transport === 'unary' ? notInOrder : unexplained;
    if (wrong.length) await explainLostSteps(wrong.slice(0, 5).map((o) => o.orderId));
    expect(wrong).toEqual([]);
    const anomalies = await firestore.collectionGroup('anomalies').get();
    const outOfSequence = new Set(notInOrder.map((o) => o.orderId));
    expect(anomalies.docs.map((d) => d.get('orderId') as string).filter((id) => !outOfSequence.has(id))).toEqual([]);
    for (let u = 0; u < USERS; u++) expect(await store.readUserActivity(`user-${u}`)).toEqual({ total: CLICKS_PER_USER, counts: { click: CLICKS_PER_USER } });

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 300000);
});
