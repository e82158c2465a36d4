/** createMeshService wiring: startup checks, health/readiness/stats, shutdown, env parsing. */
import { Writable } from 'node:stream';
import type { PubSub } from '@google-cloud/pubsub';
import request from 'supertest';
import {
  ConsumerConfigError,
  createLogger,
  createMeshService,
  portFromEnv,
  projectFromEnv,
  pullTransportFromEnv,
  pushAuthFromEnv,
  type DeadLetterSink,
  type MeshServiceOptions,
} from '../../shared/consumer';
import { createEvent, toPubsubMessage } from '../../shared/envelope';
import { pushBody } from '../support/push-body';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: svc-test
topics:
  analytics: { schema: { dir: schemas/analytics, revisions: [v1, v2] }, eventTypes: [click, view, like.created, like.removed] }
  orders: { schema: { dir: schemas/orders, revisions: [v1, v2] }, eventTypes: [order.created, order.paid, order.shipped, order.cancelled], orderingKey: orderId }
services:
  svc: { localPort: 18091 }
  puller: { localPort: 18092 }
consumers:
  svc-analytics: { topic: analytics, delivery: push, service: svc }
  svc-orders: { topic: orders, delivery: push, service: svc }
  puller-orders: { topic: orders, delivery: pull, service: puller }
  archive: { topic: orders, delivery: bigquery, table: raw }
warehouse: { dataset: test }
`);

const sink: DeadLetterSink = { publish: async () => 'dl', flush: async () => undefined };
const silent = createLogger({ level: 'silent' });
const done = async () => 'done' as const;

function options(overrides: Partial<MeshServiceOptions> = {}): MeshServiceOptions {
  return {
    spec,
    serviceName: 'svc',
    handlers: { 'svc-analytics': done, 'svc-orders': done },
    pubsub: {} as PubSub,
    deadLetter: () => sink,
    log: silent,
    verifyPushAuth: false,
    ...overrides,
  };
}

function wrappedBody(
  type = 'click',
  data: Record<string, unknown> = { userId: 'u', sessionId: '', page: '', element: '', postId: '', country: '', durationMs: 0 },
): string {
  return pushBody(toPubsubMessage(createEvent({ type, source: '//t', schemaVersion: 'v2', data })), { subscription: 'projects/p/subscriptions/svc-analytics' });
}

describe('createMeshService startup checks', () => {
  it('refuses to start a push service without a push-auth decision', () => {
    expect(() => createMeshService(options({ verifyPushAuth: undefined }))).toThrow(ConsumerConfigError);
    expect(() => createMeshService(options({ verifyPushAuth: undefined }))).toThrow(/MESH_VERIFY_PUSH_AUTH=false/);
  });

  it('logs a warning when verification is explicitly off', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(chunk.toString()), cb()) });
    createMeshService(options({ log: createLogger({ destination }) }));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ severity: 'WARNING', message: expect.stringMatching(/push authentication is OFF/) });
  });

  it('needs exactly one handler per push/pull consumer of the service', () => {
    expect(() => createMeshService(options({ handlers: { 'svc-analytics': done } }))).toThrow(/no handler for consumer svc-orders/);
    expect(() => createMeshService(options({ handlers: { 'svc-analytics': done, 'svc-orders': done, archive: done } }))).toThrow(/archive/);
    expect(() => createMeshService(options({ serviceName: 'nope' }))).toThrow(/unknown service/);
  });

  it('needs no push-auth decision for a pull-only service', () => {
    expect(() => createMeshService(options({ serviceName: 'puller', handlers: { 'puller-orders': done }, verifyPushAuth: undefined }))).not.toThrow();
  });
});

describe('health, readiness and stats', () => {
  it('is live at once, ready once started, not ready while stopping', async () => {
    const service = createMeshService(options());
    expect((await request(service.listener).get('/healthz')).body).toEqual({ status: 'ok', service: 'svc' });
    expect((await request(service.listener).get('/readyz')).status).toBe(503);
    const port = await service.start(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    expect((await request(base).get('/readyz')).body).toMatchObject({ ready: true, consumers: { 'svc-analytics': true, 'svc-orders': true } });
    await service.stop();
    expect(service.ready).toBe(false);
    expect(service.server!.listening).toBe(false);
    await service.stop(); // idempotent
  });

  it('counts per consumer at /stats', async () => {
    const service = createMeshService(options());
    const post = (body: string) => request(service.listener).post('/pubsub/push/svc-analytics').set('content-type', 'application/json').send(body);
    expect((await post(wrappedBody())).status).toBe(204);
    expect((await post(wrappedBody('purchase'))).status).toBe(204); // dead-lettered
    expect((await request(service.listener).get('/stats')).body).toEqual({
      service: 'svc',
      consumers: {
        'svc-analytics': { received: 2, done: 1, duplicate: 0, deadLettered: 1, failed: 0 },
        'svc-orders': { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 },
      },
      // Publish-to-effect latency of the one event handled with an effect (not of the dead letter).
      latency: { 'svc-analytics': expect.objectContaining({ count: 1, windowMs: 60_000 }) as unknown },
      // The process's memory as read: RSS, and the part of it the V8 heap holds.
      memory: {
        rssBytes: expect.any(Number) as unknown,
        heapUsedBytes: expect.any(Number) as unknown,
        heapTotalBytes: expect.any(Number) as unknown,
        externalBytes: expect.any(Number) as unknown,
        heapLimitBytes: expect.any(Number) as unknown,
      },
    });
  });

  it('waits for running handlers on stop and answers 503 to new pushes meanwhile', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let finished = false;
    const slow = async () => {
      await gate;
      finished = true;
      return 'done' as const;
    };
    const service = createMeshService(options({ handlers: { 'svc-analytics': slow, 'svc-orders': done } }));
    const port = await service.start(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const inFlight = request(base).post('/pubsub/push/svc-analytics').set('content-type', 'application/json').send(wrappedBody());
    const pending = inFlight.then((r) => r.status);
    await new Promise((r) => setTimeout(r, 100));
    const stopping = service.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(finished).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    expect(await pending).toBe(204);
  });

  it('adds the service routes to the express app', async () => {
    const service = createMeshService(options({ routes: (app) => app.get('/hello', (_q, r) => void r.json({ hi: 1 })) }));
    expect((await request(service.listener).get('/hello')).body).toEqual({ hi: 1 });
    expect((await request(service.listener).get('/nothing')).status).toBe(404);
  });
});

describe('env', () => {
  it('reads the push-auth decision', () => {
    expect(pushAuthFromEnv({})).toBeUndefined();
    expect(pushAuthFromEnv({ MESH_VERIFY_PUSH_AUTH: 'false' })).toBe(false);
    expect(pushAuthFromEnv({ MESH_PUSH_AUDIENCE: 'https://a', MESH_PUSH_SERVICE_ACCOUNT: 'sa@x' })).toEqual({
      audience: 'https://a',
      serviceAccountEmail: 'sa@x',
      tokenCheck: 'signature',
    });
    expect(pushAuthFromEnv({ MESH_PUSH_AUDIENCE: 'https://a, https://b', MESH_PUSH_SERVICE_ACCOUNT: 'sa@x' })).toEqual({
      audience: ['https://a', 'https://b'],
      serviceAccountEmail: 'sa@x',
      tokenCheck: 'signature',
    });
    expect(() => pushAuthFromEnv({ MESH_PUSH_AUDIENCE: 'https://a' })).toThrow(ConsumerConfigError);
    expect(() => pushAuthFromEnv({ MESH_VERIFY_PUSH_AUTH: 'true' })).toThrow(/MESH_PUSH_AUDIENCE/);
  });

  it('reads project and port', () => {
    expect(projectFromEnv(spec, { GOOGLE_CLOUD_PROJECT: 'p1' })).toBe('p1');
    expect(projectFromEnv(spec, { PUBSUB_EMULATOR_HOST: 'h:1' })).toBe('svc-test');
    expect(() => projectFromEnv(spec, {})).toThrow(/GOOGLE_CLOUD_PROJECT/);
    expect(portFromEnv(spec, 'svc', {})).toBe(18091);
    expect(portFromEnv(spec, 'svc', { PORT: '8080' })).toBe(8080);
    expect(() => portFromEnv(spec, 'svc', { PORT: 'x' })).toThrow(/PORT/);
  });

  it('pulls with unary Pull on the Pub/Sub emulator and StreamingPull in GCP, unless told', () => {
    expect(pullTransportFromEnv({})).toBe('streaming');
    expect(pullTransportFromEnv({ PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' })).toBe('unary');
    expect(pullTransportFromEnv({ PUBSUB_EMULATOR_HOST: '127.0.0.1:8085', MESH_PULL_TRANSPORT: 'Streaming' })).toBe('streaming');
    expect(pullTransportFromEnv({ MESH_PULL_TRANSPORT: 'unary' })).toBe('unary');
    expect(() => pullTransportFromEnv({ MESH_PULL_TRANSPORT: 'grpc' })).toThrow(ConsumerConfigError);
  });
});
