/**
 * Pull start-up in GCP, where the service account holds only roles/pubsub.subscriber: no
 * pubsub.subscriptions.get (so no getMetadata), and Pull / StreamingPull refused with
 * PERMISSION_DENIED until the grant propagates (or NOT_FOUND until the subscription exists). The
 * emulator has no IAM, so GCP's refusals are faked here, in the shapes the Node client surfaces them:
 * a unary Pull fails with `{code: 7, details: 'User not authorized to perform this action.'}`; a
 * StreamingPull stream emits 'error' with that status and then 'close'.
 */
import { EventEmitter } from 'node:events';
import type { PubSub } from '@google-cloud/pubsub';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { ConsumerConfigError, createLogger, createMeshService, PullConsumer, SubscriptionAccess, type DeadLetterSink } from '../../shared/consumer';
import { createEvent, toPubsubMessage } from '../../shared/envelope';
import { eventually } from '../support/emulators';
import { specFromText } from '../support/specs';

/**
 * The unary transport builds the library's generated `v1.SubscriberClient` from `getClientConfig()`;
 * here that client is answered by the fake GCP the config carries (`fakeSubscriberApi`).
 */
jest.mock('@google-cloud/pubsub', () => {
  const actual = jest.requireActual('@google-cloud/pubsub');
  type Api = Record<'pull' | 'acknowledge' | 'modifyAckDeadline', (request: object) => Promise<unknown>>;
  class FakeSubscriberClient {
    private readonly api: Api;
    constructor(config: { fakeSubscriberApi: Api }) {
      this.api = config.fakeSubscriberApi;
    }
    pull = (request: object) => this.api.pull(request).then((response) => [response]);
    acknowledge = (request: object) => this.api.acknowledge(request).then((response) => [response]);
    modifyAckDeadline = (request: object) => this.api.modifyAckDeadline(request).then((response) => [response]);
    close = async () => undefined;
  }
  return { ...actual, v1: { ...actual.v1, SubscriberClient: FakeSubscriberClient } };
});

const spec = specFromText(`
version: 1
project: start-test
topics:
  analytics: { schema: { dir: schemas/analytics, revisions: [v1, v2] }, eventTypes: [click, view, like.created, like.removed] }
services:
  puller: { localPort: 18093 }
consumers:
  puller-clicks: { topic: analytics, delivery: pull, service: puller }
warehouse: { dataset: test }
`);
const consumer = spec.consumers['puller-clicks'];
const noSink: DeadLetterSink = { publish: async () => 'x', flush: async () => undefined };
const FAST = { initialDelayMs: 40, maxDelayMs: 160, acceptedAfterMs: 30 };

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
const DENIED = () => grpcError(7, 'User not authorized to perform this action.');

function click() {
  const m = toPubsubMessage(
    createEvent({
      type: 'click',
      source: '//t',
      schemaVersion: 'v2',
      data: { userId: 'u', sessionId: '', page: '', element: '', postId: '', country: '', durationMs: 0 },
    }),
  );
  return { data: m.data, attributes: m.attributes };
}

function capture() {
  const lines: Record<string, any>[] = [];
  return { lines, log: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }) };
}

/** GCP's subscriber API as the unary transport and the old getMetadata pre-check reach it. */
function fakeUnaryGcp(refusals: number, refuse: () => Error = DENIED) {
  const pulls = new Map<string, number>();
  const queue: ReturnType<typeof click>[] = [];
  const acked: string[] = [];
  let getMetadataCalls = 0;
  const fakeSubscriberApi = {
    async pull(request: { subscription: string }) {
      const n = (pulls.get(request.subscription) ?? 0) + 1;
      pulls.set(request.subscription, n);
      if (n <= refusals) {
        const error = refuse();
        await nextTurn();
        throw error;
      }
      const main = request.subscription.endsWith('/puller-clicks');
      if (main && queue.length) {
        const receivedMessages = queue.splice(0).map((m, i) => ({ ackId: `ack-${n}-${i}`, message: { ...m, messageId: `m-${n}-${i}` } }));
        await nextTurn();
        return { receivedMessages };
      }
      // An accepted Pull with nothing to send is held until the client's timeout.
      await sleep(100);
      throw grpcError(4, 'Deadline exceeded');
    },
    async acknowledge(request: { ackIds: string[] }) {
      acked.push(...request.ackIds);
      await nextTurn();
      return {};
    },
    async modifyAckDeadline() {
      await nextTurn();
      return {};
    },
  };
  const pubsub = {
    isEmulator: false,
    getClientConfig: async () => ({ projectId: 'p', fakeSubscriberApi }),
    // The old pre-check: refused, as GCP refuses pubsub.subscriptions.get to a subscriber.
    subscription: () => ({ getMetadata: async () => (getMetadataCalls++, Promise.reject(DENIED())) }),
  };
  return { pubsub: pubsub as unknown as PubSub, pulls, queue, acked, getMetadataCalls: () => getMetadataCalls };
}

/** A StreamingPull subscription as the Node client exposes it: opens when a 'message' listener is added. */
class FakeStream extends EventEmitter {
  isOpen = false;
  opens = 0;
  constructor(
    readonly name: string,
    private refusals: number,
  ) {
    super();
    this.on('newListener', (event) => event === 'message' && this.open());
  }
  open() {
    this.opens++;
    this.isOpen = true;
    if (this.opens > this.refusals) return;
    setImmediate(() => {
      this.emit('error', DENIED());
      this.isOpen = false;
      this.emit('close');
    });
  }
  async close() {
    this.isOpen = false;
  }
}

describe('opening a pull subscription that Pub/Sub refuses at first', () => {
  it('keeps the service up, not ready, with the reason, and consumes once Pub/Sub accepts (unary)', async () => {
    const gcp = fakeUnaryGcp(3);
    const { lines, log } = capture();
    const handled: string[] = [];
    const service = createMeshService({
      spec,
      serviceName: 'puller',
      handlers: { 'puller-clicks': async (decoded) => (handled.push(decoded.event.id), 'done') },
      pubsub: gcp.pubsub,
      deadLetter: () => noSink,
      log,
      pullTransport: 'unary',
      pullOpenRetry: { ...FAST, initialDelayMs: 150 },
    });
    // Before the fix start() called getMetadata(), was refused and rejected: the process exited 1.
    const port = await service.start(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    expect(gcp.getMetadataCalls()).toBe(0);
    expect((await request(base).get('/healthz')).status).toBe(200);

    const waiting = await eventually(
      async () => {
        const res = await request(base).get('/readyz');
        return res.status === 503 && res.body.reasons?.some((r: string) => r.includes('PERMISSION_DENIED')) ? res.body : undefined;
      },
      3000,
      'readyz 503 naming the refusal',
    );
    expect(waiting.reasons).toContainEqual(
      expect.stringMatching(
        /^puller-clicks: waiting for permission on subscription puller-clicks \(PERMISSION_DENIED: needs roles\/pubsub.subscriber\), retry in \ds$/,
      ),
    );

    await eventually(async () => ((await request(base).get('/readyz')).status === 200 ? true : undefined), 5000, 'readyz 200 once accepted');
    gcp.queue.push(click());
    await eventually(() => (handled.length === 1 && gcp.acked.length === 1 ? true : undefined), 3000, 'the message handled and acked');

    const refusals = lines.filter((l) => l.severity === 'WARNING' && l.code === 'PERMISSION_DENIED');
    expect(refusals).toHaveLength(6); // 3 per subscription: the consumer's own and its redrive subscription
    expect(refusals[0]).toMatchObject({ subscription: expect.stringMatching(/^puller-clicks/), roleNeeded: 'roles/pubsub.subscriber', retryInMs: 150 });
    expect(refusals.filter((l) => l.subscription === 'puller-clicks').map((l) => l.retryInMs)).toEqual([150, 160, 160]); // doubled, capped
    expect(lines.some((l) => l.severity === 'CRITICAL' || l.severity === 'ERROR')).toBe(false);
    await service.stop();
  });

  it('reopens a refused StreamingPull stream with backoff and is ready once it stays open', async () => {
    const streams: FakeStream[] = [];
    const pubsub = { isEmulator: false, subscription: (name: string) => (streams.push(new FakeStream(name, 2)), streams.at(-1)) } as unknown as PubSub;
    const { lines, log } = capture();
    const pull = new PullConsumer({ pubsub, consumer, pipeline: async () => 'done', log, openRetry: FAST });
    await pull.start();
    expect(pull.ready).toBe(true); // trusted until refused
    await eventually(() => (pull.notReadyReason?.includes('PERMISSION_DENIED') ? true : undefined), 2000, 'the refusal as the reason');
    expect(pull.ready).toBe(false);
    // Once refused, not ready again until a stream has stayed open acceptedAfterMs.
    await eventually(() => (pull.ready ? true : undefined), 3000, 'ready after the third open');
    expect(streams[0].opens).toBe(3);
    expect(pull.notReadyReason).toBeUndefined();
    // A refusal is a WARNING with its code, not an ERROR "stream closed unexpectedly".
    expect(lines.filter((l) => l.code === 'PERMISSION_DENIED').map((l) => l.severity)).toEqual(['WARNING', 'WARNING']);
    expect(lines.some((l) => l.severity === 'ERROR')).toBe(false);
    await pull.close();
  });

  it.each(['unary', 'streaming'] as const)('stops at once when shut down while waiting out a refusal (%s)', async (transport) => {
    const gcp = fakeUnaryGcp(Infinity);
    const pubsub =
      transport === 'unary' ? gcp.pubsub : ({ isEmulator: false, subscription: (name: string) => new FakeStream(name, Infinity) } as unknown as PubSub);
    const { lines, log } = capture();
    const pull = new PullConsumer({ pubsub, consumer, pipeline: async () => 'done', log, transport, openRetry: { initialDelayMs: 60_000 } });
    await pull.start();
    await eventually(() => (lines.some((l) => l.code === 'PERMISSION_DENIED') ? true : undefined), 2000, 'the first refusal');
    const t0 = Date.now();
    pull.beginDrain();
    expect(await pull.drained(1000)).toBe(true);
    await pull.close();
    expect(Date.now() - t0).toBeLessThan(500); // not the 60 s wait: SIGTERM gives 10 s
  });

  it('drains what a Pull out when the drain began brings: handled before drained() resolves, not sent back unstarted', async () => {
    // One Pull, answered only when the test says (as GCP answers a held Pull when a message comes).
    let answer: (messages: ReturnType<typeof click>[]) => void = () => undefined;
    const fakeSubscriberApi = {
      pull: () =>
        new Promise<ReturnType<typeof click>[]>((resolve) => (answer = resolve)).then((messages) => ({
          receivedMessages: messages.map((m, i) => ({ ackId: `ack-${i}`, message: { ...m, messageId: `m-${i}` } })),
        })),
      acknowledge: async () => ({}),
      modifyAckDeadline: async () => ({}),
    };
    const pubsub = { isEmulator: false, getClientConfig: async () => ({ projectId: 'p', fakeSubscriberApi }) } as unknown as PubSub;
    const handled: string[] = [];
    const afterDrained: string[] = [];
    let drainedResolved = false;
    const pull = new PullConsumer({
      pubsub,
      consumer,
      log: capture().log,
      transport: 'unary',
      pipeline: async (message) => {
        if (drainedResolved) afterDrained.push(message.messageId);
        await sleep(20);
        handled.push(message.messageId);
        return 'done';
      },
    });
    await pull.start();
    await sleep(20); // the first Pull is out
    pull.beginDrain();
    const drained = pull.drained(2000).then((ok) => ((drainedResolved = true), ok));
    await sleep(50);
    expect(drainedResolved).toBe(false); // nothing handed out yet, but a Pull is out
    answer([click(), click()]);
    expect(await drained).toBe(true);
    // Before the fix drained() resolved at once and these two ran after it (or close() sent them back).
    expect(afterDrained).toEqual([]);
    expect(handled).toEqual(['m-0', 'm-1']);
    await pull.close();
  });

  it('says to run mesh apply when the emulator has no such subscription', async () => {
    const gcp = fakeUnaryGcp(Infinity, () => grpcError(5, 'Subscription does not exist'));
    (gcp.pubsub as { isEmulator: boolean }).isEmulator = true;
    const pull = new PullConsumer({ pubsub: gcp.pubsub, consumer, pipeline: async () => 'done', log: capture().log, transport: 'unary', openRetry: FAST });
    await pull.start();
    await eventually(() => (pull.notReadyReason?.includes('NOT_FOUND') ? true : undefined), 2000, 'NOT_FOUND as the reason');
    expect(pull.notReadyReason).toMatch(/waiting for subscription puller-clicks to exist \(NOT_FOUND: run `mesh apply --local` first\?\)/);
    await pull.close();
  });

  it('fails fast on a subscription name Pub/Sub can never accept', async () => {
    for (const subscription of ['x', '1-starts-with-a-digit', 'goog-reserved', 'has space', 'projects/p/subscriptions/ab']) {
      const pull = new PullConsumer({
        pubsub: fakeUnaryGcp(0).pubsub,
        consumer,
        pipeline: async () => 'done',
        log: capture().log,
        transport: 'unary',
        subscription,
      });
      await expect(pull.start()).rejects.toThrow(ConsumerConfigError);
    }
  });
});

describe('SubscriptionAccess', () => {
  let now = 0;
  const make = (emulator = false) =>
    new SubscriptionAccess({ consumer: 'c', subscription: 'c-sub', log: createLogger({ level: 'silent' }), emulator, now: () => now });

  it('backs off exponentially to the cap, and starts over once open', () => {
    const access = make();
    const waits = Array.from({ length: 8 }, () => access.refused(DENIED()));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    access.opened();
    expect(access.isOpen).toBe(true);
    expect(access.refused(grpcError(14, 'unavailable'))).toBe(1000);
  });

  it('leaves other errors to the transport', () => {
    const access = make();
    expect(access.refused(grpcError(2, 'UNKNOWN'))).toBeUndefined();
    expect(access.refused(grpcError(3, 'INVALID_ARGUMENT'))).toBeUndefined();
    expect(access.refused(new Error('no code'))).toBeUndefined();
    expect(access.waiting).toBe(false);
    expect(access.reason()).toBeUndefined();
  });

  it('says why and when it tries again', () => {
    now = 10_000;
    const access = make();
    for (let i = 0; i < 4; i++) access.refused(DENIED());
    now += 500;
    expect(access.reason()).toBe('c: waiting for permission on subscription c-sub (PERMISSION_DENIED: needs roles/pubsub.subscriber), retry in 8s');
    access.refused(grpcError(5, 'Resource not found'));
    expect(access.reason()).toBe('c: waiting for subscription c-sub to exist (NOT_FOUND), retry in 16s');
    access.refused(grpcError(14, 'Connection dropped'));
    expect(access.reason()).toBe('c: Pub/Sub unavailable for subscription c-sub (UNAVAILABLE), retry in 30s');
  });
});
