/** Push bodies -> IncomingMessage (wrapped, no-wrapper, garbage) and the lean listener's status codes. */
import * as http from 'node:http';
import request from 'supertest';
import {
  createLogger,
  createPushListener,
  parseNoWrapper,
  parsePushRequest,
  parseWrapped,
  PushRequestError,
  wrapPushBody,
  type Outcome,
  type Pipeline,
  type PushListener,
} from '../../shared/consumer';
import type { IncomingMessage } from '../../shared/envelope';

const silent = createLogger({ level: 'silent' });
const attributes = { 'ce-id': 'e1', 'ce-type': 'click', 'ce-source': '//test', 'ce-specversion': '1.0' };
const data = Buffer.from('{"userId":"u1"}');

function wrapped(message: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      message: { data: data.toString('base64'), attributes, messageId: '42', message_id: '42', publishTime: '2026-01-02T03:04:05.678Z', ...message },
      subscription: 'projects/p/subscriptions/s',
      ...extra,
    }),
  );
}

function thrown(fn: () => unknown): PushRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PushRequestError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('parseWrapped', () => {
  it('reads data, attributes, ids and times', () => {
    const { message, subscription, form } = parseWrapped(wrapped({ orderingKey: 'o-1' }, { deliveryAttempt: 3 }));
    expect(form).toBe('wrapped');
    expect(subscription).toBe('projects/p/subscriptions/s');
    expect(message.data.equals(data)).toBe(true);
    expect(message.attributes).toEqual(attributes);
    expect(message.messageId).toBe('42');
    expect(message.publishTime?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(message.orderingKey).toBe('o-1');
    expect(message.deliveryAttempt).toBe(3);
  });

  it('accepts the snake_case twins and a message without data or attributes', () => {
    const body = Buffer.from(JSON.stringify({ message: { message_id: '7', publish_time: '2026-01-02T03:04:05Z', ordering_key: 'k' } }));
    const { message } = parseWrapped(body);
    expect(message).toMatchObject({ messageId: '7', orderingKey: 'k', attributes: {} });
    expect(message.data.length).toBe(0);
    expect(message.deliveryAttempt).toBeUndefined();
  });

  it.each([
    ['not JSON', Buffer.from('{"message":'), /not JSON/],
    ['JSON without message', Buffer.from('{"hello":"world"}'), /no "message"/],
    ['an array', Buffer.from('[1,2]'), /no "message"/],
    ['message without id', Buffer.from('{"message":{"data":""}}'), /no messageId/],
    ['data not a string', Buffer.from('{"message":{"messageId":"1","data":5}}'), /base64/],
    ['attribute not a string', Buffer.from('{"message":{"messageId":"1","attributes":{"a":1}}}'), /attribute "a"/],
  ])('refuses %s with 400', (_what, body, message) => {
    const error = thrown(() => parseWrapped(body));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });
});

describe('wrapPushBody (what the local push relay sends)', () => {
  it('is read back by parseWrapped as the same message, with ordering key and delivery attempt', () => {
    const message: IncomingMessage = {
      data,
      attributes,
      messageId: '9',
      publishTime: new Date('2026-01-02T03:04:05.678Z'),
      orderingKey: 'o-1',
      deliveryAttempt: 3,
    };
    const body = wrapPushBody(message, 'projects/p/subscriptions/s');
    expect(parseWrapped(Buffer.from(body))).toEqual({ message, subscription: 'projects/p/subscriptions/s', form: 'wrapped' });
    expect(JSON.parse(body).message).toMatchObject({ message_id: '9', publish_time: '2026-01-02T03:04:05.678Z' });
  });

  it('leaves out what the message does not have', () => {
    const parsed = JSON.parse(wrapPushBody({ data, attributes, messageId: '9' }, 's'));
    expect(parsed).not.toHaveProperty('deliveryAttempt');
    expect(parsed.message).not.toHaveProperty('orderingKey');
  });
});

describe('parseNoWrapper', () => {
  // What the emulator sends (checked): form-urlencoded label, raw bytes, metadata and attributes as headers.
  const headers = {
    'ce-id': 'e1',
    'ce-type': 'click',
    'x-goog-pubsub-message-id': '9',
    'x-goog-pubsub-publish-time': '2026-01-02T03:04:05.678Z',
    'x-goog-pubsub-subscription-name': 'projects/p/subscriptions/nw',
    'user-agent': 'Java/17.0.15',
    host: '127.0.0.1:1',
    accept: '*/*',
    connection: 'keep-alive',
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': '15',
    authorization: 'Bearer x',
    'x-forwarded-for': '1.2.3.4',
  };
  const rawHeaders = Object.entries(headers).flatMap(([k, v]) => [k === 'ce-id' ? 'Ce-Id' : k, v]);
  const raw = Buffer.from('{"a":"b c&d=e"}');

  it('takes the raw body as data and non-transport headers as attributes (original case kept)', () => {
    const { message, subscription, form } = parsePushRequest(raw, headers, rawHeaders);
    expect(form).toBe('no-wrapper');
    expect(message.data.equals(raw)).toBe(true);
    expect(message.attributes).toEqual({ 'Ce-Id': 'e1', 'ce-type': 'click' });
    expect(message.messageId).toBe('9');
    expect(message.publishTime?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(subscription).toBe('projects/p/subscriptions/nw');
  });

  it('falls back to the lowercased headers without rawHeaders', () => {
    expect(parseNoWrapper(raw, headers).message.attributes).toEqual({ 'ce-id': 'e1', 'ce-type': 'click' });
  });

  it('refuses an empty message id', () => {
    expect(thrown(() => parseNoWrapper(raw, { ...headers, 'x-goog-pubsub-message-id': '' })).status).toBe(400);
  });
});

describe('parsePushRequest', () => {
  it('refuses a body that is neither form with 415', () => {
    const error = thrown(() => parsePushRequest(Buffer.from('hello'), { 'content-type': 'text/plain' }));
    expect(error.status).toBe(415);
    expect(thrown(() => parsePushRequest(Buffer.from('{}'), {})).status).toBe(415);
  });
  it('accepts application/json with a charset as wrapped', () => {
    expect(parsePushRequest(wrapped(), { 'content-type': 'application/json; charset=utf-8' }).form).toBe('wrapped');
  });
});

describe('push listener', () => {
  let outcome: Outcome = 'done';
  let draining = false;
  const seen: { message: IncomingMessage; subscription: string }[] = [];
  const pipeline: Pipeline = async (message, subscription) => {
    seen.push({ message, subscription });
    return outcome;
  };
  const push: PushListener = createPushListener({
    routes: [{ consumer: 'c1', path: '/pubsub/push/c1', subscription: 'c1', pipeline }],
    log: silent,
    maxBodyBytes: 2048,
    isDraining: () => draining,
  });
  const makeServer = () =>
    http.createServer((req, res) => {
      if (!push(req, res)) {
        res.writeHead(418);
        res.end();
      }
    });
  const server = makeServer();
  beforeEach(() => {
    outcome = 'done';
    draining = false;
    seen.length = 0;
  });
  afterAll(() => server.close());

  const post = (body: Buffer | string, type = 'application/json') =>
    request(server)
      .post('/pubsub/push/c1')
      .set('content-type', type)
      .send(typeof body === 'string' ? body : body.toString());

  it.each([['done'], ['duplicate'], ['dead-lettered']] as const)('answers 204 when the outcome is %s', async (o) => {
    outcome = o;
    const res = await post(wrapped());
    expect(res.status).toBe(204);
    expect(seen[0].subscription).toBe('projects/p/subscriptions/s');
  });

  it('answers 500 on a transient failure so Pub/Sub retries', async () => {
    outcome = 'retry';
    expect((await post(wrapped())).status).toBe(500);
  });

  it('accepts the no-wrapper form labelled form-urlencoded, with the route subscription as fallback', async () => {
    const res = await request(server)
      .post('/pubsub/push/c1?x=1')
      .set('content-type', 'application/x-www-form-urlencoded')
      .set('x-goog-pubsub-message-id', '5')
      .set('ce-id', 'e1')
      .send('{"raw":true}');
    expect(res.status).toBe(204);
    expect(seen[0].message.data.toString()).toBe('{"raw":true}');
    expect(seen[0].message.attributes['ce-id']).toBe('e1');
    expect(seen[0].subscription).toBe('c1');
  });

  it('refuses what is not a delivery with a 4xx and never calls the pipeline', async () => {
    expect((await request(server).get('/pubsub/push/c1')).status).toBe(405);
    expect((await request(server).put('/pubsub/push/c1').send('{}')).headers.allow).toBe('POST');
    expect((await post('{"message":')).status).toBe(400);
    expect((await post('{"nope":1}')).status).toBe(400);
    expect((await post('hello', 'text/plain')).status).toBe(415);
    expect((await request(server).post('/pubsub/push/other').send('{}')).status).toBe(404);
    expect(seen).toHaveLength(0);
  });

  it('answers 413 to a body over the limit (declared or streamed)', async () => {
    const big = wrapped({ data: Buffer.alloc(4096, 1).toString('base64') });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    // Chunked, no content-length: counted as it streams.
    const own = makeServer();
    const chunked = await new Promise<number>((resolve, reject) => {
      own.listen(0, () => {
        const { port } = own.address() as { port: number };
        const req = http.request(
          { port, method: 'POST', path: '/pubsub/push/c1', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
          (r) => {
            r.resume();
            resolve(r.statusCode!);
          },
        );
        req.on('error', reject);
        req.write(big.subarray(0, 1500));
        req.end(big.subarray(1500));
      });
    });
    own.close();
    expect(chunked).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it('answers 503 and closes connections while draining', async () => {
    draining = true;
    const res = await post(wrapped());
    expect(res.status).toBe(503);
    expect(res.headers.connection).toBe('close');
  });

  it('leaves other paths to the app', async () => {
    expect((await request(server).get('/healthz')).status).toBe(418);
  });
});
