/** A failed request answers JSON with an error id and never a stack; services listen on 127.0.0.1 unless on Cloud Run or told otherwise. */
import { Writable } from 'node:stream';
import type { PubSub } from '@google-cloud/pubsub';
import request from 'supertest';
import { createLogger, createMeshService, hostFromEnv, type DeadLetterSink } from '../../shared/consumer';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: svc-test
topics:
  analytics: { schema: { dir: schemas/analytics, revisions: [v1, v2] }, eventTypes: [click, view, like.created, like.removed] }
services:
  svc: { localPort: 18093 }
consumers:
  svc-analytics: { topic: analytics, delivery: push, service: svc }
warehouse: { dataset: test }
`);
const sink: DeadLetterSink = { publish: async () => 'dl', flush: async () => undefined };

function service() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const svc = createMeshService({
    spec,
    serviceName: 'svc',
    handlers: { 'svc-analytics': async () => 'done' },
    pubsub: {} as PubSub,
    deadLetter: () => sink,
    log: createLogger({ level: 'info', destination }),
    verifyPushAuth: false,
    routes: (app) => {
      app.get('/boom', () => {
        throw new Error('secret detail at /srv/app/x.ts:12');
      });
      app.get('/async-boom', async () => {
        await Promise.resolve();
        throw new TypeError('async failure');
      });
    },
  });
  return { svc, lines };
}

describe('error responses', () => {
  it.each(['/boom', '/async-boom'])('%s answers 500 JSON with an error id, no stack, and the log has the stack under the same id', async (path) => {
    const { svc, lines } = service();
    const res = await request(svc.listener).get(path);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({ error: 'internal error', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(res.text).not.toMatch(/at |\.ts:|secret|failure/);
    const logged = lines.find((l) => l.errorId === res.body.errorId) as { err: { stack: string }; path: string } | undefined;
    expect(logged?.path).toBe(path);
    expect(logged?.err.stack).toMatch(/Error: (secret detail|async failure)/);
  });

  it('says what was wrong with a refused body, without a stack', async () => {
    const { svc } = service();
    // Any JSON route: express.json() parses before routing; bad JSON on a non-push path is a 400.
    const res = await request(svc.listener).post('/stats').set('content-type', 'application/json').send('{"oops');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.text).not.toMatch(/\n\s+at /);
  });
});

describe('hostFromEnv', () => {
  it('listens on 127.0.0.1 locally, on every interface on Cloud Run, and where MESH_LISTEN_HOST says', () => {
    expect(hostFromEnv({})).toBe('127.0.0.1');
    expect(hostFromEnv({ K_SERVICE: 'processor' })).toBeUndefined();
    expect(hostFromEnv({ MESH_LISTEN_HOST: '0.0.0.0' })).toBe('0.0.0.0');
    expect(hostFromEnv({ K_SERVICE: 'processor', MESH_LISTEN_HOST: '::' })).toBe('::');
  });
});
