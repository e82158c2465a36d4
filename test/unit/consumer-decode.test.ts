/** Decoding (envelope, event type, schema) -> reasons, and the pipeline's outcomes, counters, dead letters and logs. */
import { Writable } from 'node:stream';
import type { PubSub } from '@google-cloud/pubsub';
import {
  classifyError,
  createDecoder,
  createLogger,
  createPipeline,
  deadLetterAttributes,
  PoisonError,
  ServiceStats,
  traceFields,
  TransientError,
  type DeadLetterInfo,
  type DeadLetterSink,
  type Handler,
} from '../../shared/consumer';
import { toPubsubMessage, type IncomingMessage } from '../../shared/envelope';
import { isWellFormedText } from '../../shared/envelope/well-formed';
import { MeshPublisher } from '../../shared/publisher';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const consumer = spec.consumers['processor-analytics'];
const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });

function message(type = 'click', data: Record<string, unknown> = { userId: 'u1', page: '/home' }, options: { schemaVersion?: string } = {}): IncomingMessage {
  const { event } = publisher.prepare('analytics', type, data, options);
  const out = toPubsubMessage(event);
  return { data: out.data, attributes: out.attributes, messageId: 'm1', publishTime: new Date(), deliveryAttempt: 1 };
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    const verdict = classifyError(error);
    return verdict.kind === 'poison' ? verdict.reason : `transient: ${verdict.message}`;
  }
  return 'ok';
}

describe('createDecoder', () => {
  const decode = createDecoder(spec, consumer);

  it('returns the event with data read as the current revision', () => {
    const decoded = decode(message('view', { userId: 'u1', postId: 'p1', country: 'NL' }));
    expect(decoded.readAs).toBe('v2');
    expect(decoded.event).toMatchObject({ type: 'view', source: '//test', schemaVersion: 'v2' });
    expect(decoded.event.data).toEqual({ userId: 'u1', sessionId: '', page: '', element: '', postId: 'p1', country: 'NL', durationMs: 0 });
    expect(decoded).toMatchObject({ messageId: 'm1', deliveryAttempt: 1 });
  });

  it('reads an older revision with the new fields defaulted', () => {
    const decoded = decode(message('click', { userId: 'u1', page: '/x' }, { schemaVersion: 'v1' }));
    expect(decoded.event.schemaVersion).toBe('v1');
    expect(decoded.event.data).toMatchObject({ userId: 'u1', page: '/x', country: '', durationMs: 0 });
  });

  it('reads with the current revision when the message names none', () => {
    const m = message();
    delete m.attributes['ce-dataschema'];
    expect(decode(m).event.schemaVersion).toBe('v2');
  });

  it('still reads the deprecated ce-schemaversion alone (published within the window)', () => {
    const m = message('click', { userId: 'u1', page: '/x' }, { schemaVersion: 'v1' });
    delete m.attributes['ce-dataschema'];
    m.attributes['ce-schemaversion'] = 'v1';
    // Judged by the publish time, so this test does not expire with the window.
    m.publishTime = new Date('2027-06-30T23:59:59Z');
    m.attributes['ce-time'] = '2027-06-30T23:59:00Z';
    expect(decode(m).event.schemaVersion).toBe('v1');
    m.publishTime = new Date('2027-07-01T00:00:00Z');
    expect(reasonOf(() => decode(m))).toBe('bad-attribute');
  });

  const variants: [string, (m: IncomingMessage) => void, string][] = [
    ['data that is not JSON', (m) => (m.data = Buffer.from('{oops')), 'not-json'],
    ['empty data', (m) => (m.data = Buffer.alloc(0)), 'not-json'],
    ['a missing ce-id', (m) => delete m.attributes['ce-id'], 'missing-attribute'],
    ['a missing ce-type', (m) => delete m.attributes['ce-type'], 'missing-attribute'],
    ['no attributes at all', (m) => (m.attributes = {}), 'missing-attribute'],
    ['specversion 0.3', (m) => (m.attributes['ce-specversion'] = '0.3'), 'unsupported-specversion'],
    ['a non-JSON content type', (m) => (m.attributes['content-type'] = 'text/plain'), 'bad-attribute'],
    ['a bad ce-time', (m) => (m.attributes['ce-time'] = 'yesterday'), 'bad-attribute'],
    ['a type the topic does not carry', (m) => (m.attributes['ce-type'] = 'purchase'), 'unknown-type'],
    ['an order type on the analytics topic', (m) => (m.attributes['ce-type'] = 'order.paid'), 'unknown-type'],
    ['a payload missing a required field', (m) => (m.data = Buffer.from('{"page":"/x"}')), 'schema'],
    ['a field of the wrong type', (m) => (m.data = Buffer.from('{"userId":5}')), 'schema'],
    ['an unknown revision', (m) => (m.attributes['ce-dataschema'] = 'urn:event-mesh:schema:analytics:v9'), 'schema'],
    [
      'v2 fields claimed as v1',
      (m) => ((m.attributes['ce-dataschema'] = 'urn:event-mesh:schema:analytics:v1'), (m.data = Buffer.from('{"userId":"u","country":"NL"}'))),
      'schema',
    ],
    ['a dataschema of another topic', (m) => (m.attributes['ce-dataschema'] = 'urn:event-mesh:schema:orders:v2'), 'schema'],
    ['an unparsable dataschema', (m) => (m.attributes['ce-dataschema'] = 'https://example.com/schemas/analytics.avsc'), 'bad-attribute'],
    ['a dataschema without revision', (m) => (m.attributes['ce-dataschema'] = 'urn:event-mesh:schema:analytics'), 'bad-attribute'],
    ['a ce-schemaversion disagreeing with ce-dataschema', (m) => (m.attributes['ce-schemaversion'] = 'v1'), 'bad-attribute'],
    ['a JSON array payload', (m) => (m.data = Buffer.from('[1]')), 'schema'],
  ];
  it.each(variants)('dead-letters %s with reason %s', (_what, spoil, reason) => {
    const m = message();
    spoil(m);
    expect(reasonOf(() => decode(m))).toBe(reason);
  });
});

describe('classifyError', () => {
  it('sorts handler errors', () => {
    expect(classifyError(new PoisonError('no post', 'bad-id'))).toEqual({ kind: 'poison', reason: 'bad-id', message: 'no post' });
    expect(classifyError(new PoisonError('x'))).toMatchObject({ reason: 'handler' });
    expect(classifyError(new TransientError('busy'))).toEqual({ kind: 'transient', message: 'busy', expected: true });
    expect(classifyError(new TypeError('bug'))).toEqual({ kind: 'transient', message: 'bug', expected: false });
  });
});

describe('deadLetterAttributes', () => {
  const info: DeadLetterInfo = { reason: 'schema', error: 'bad', consumer: 'c', sourceSubscription: 'projects/p/subscriptions/c' };
  it('keeps the original attributes, drops goog* ones and adds why', () => {
    const m = message();
    const original = { ...m.attributes };
    m.attributes.googclient_schemarevisionid = 'abc';
    m.attributes.reason = 'producer field';
    m.orderingKey = 'k1';
    const attrs = deadLetterAttributes(m, info);
    expect(attrs).toMatchObject({
      ...original,
      reason: 'schema',
      error: 'bad',
      consumer: 'c',
      sourceSubscription: info.sourceSubscription,
      messageId: 'm1',
      orderingKey: 'k1',
      deliveryAttempt: '1',
    });
    expect(attrs.googclient_schemarevisionid).toBeUndefined();
  });
  it('truncates a long error to Pub/Sub attribute limits and caps the count at 100', () => {
    const m = message();
    for (let i = 0; i < 120; i++) m.attributes[`a${i}`] = 'x';
    const attrs = deadLetterAttributes(m, { ...info, error: 'é'.repeat(2000) });
    expect(Buffer.byteLength(attrs.error)).toBeLessThanOrEqual(1024);
    expect(attrs.error.endsWith('...')).toBe(true);
    expect(Object.keys(attrs).length).toBeLessThanOrEqual(100);
  });
  it('makes every key and value publishable: a lone surrogate (a push body can carry one) becomes U+FFFD, over-long ones are cut', () => {
    // Found by the fault suite: published as is, the copy was never accepted and the poison was retried as if transient.
    const m = message();
    m.attributes['ce-source'] = '//x\ud800';
    m.attributes['k\udc00'] = 'v';
    m.attributes['long'] = 'é'.repeat(900);
    m.orderingKey = 'key\ud800';
    const attrs = deadLetterAttributes(m, info);
    for (const [key, value] of Object.entries(attrs)) {
      expect(isWellFormedText(key)).toBe(true);
      expect(isWellFormedText(value)).toBe(true);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(1024);
    }
    expect(attrs['ce-source']).toBe('//x\ufffd');
    expect(attrs['k\ufffd']).toBe('v');
    expect(attrs.orderingKey).toBe('key\ufffd');
  });
});

describe('createPipeline', () => {
  class MemorySink implements DeadLetterSink {
    published: { message: IncomingMessage; info: DeadLetterInfo }[] = [];
    fail = false;
    async publish(message: IncomingMessage, info: DeadLetterInfo) {
      if (this.fail) throw new Error('pubsub down');
      this.published.push({ message, info });
      return `dl-${this.published.length}`;
    }
    async flush() {}
  }

  function setup(handler: Handler) {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const log = createLogger({ service: 'test', level: 'debug', destination });
    const sink = new MemorySink();
    const stats = new ServiceStats('test', [consumer.name]);
    const pipeline = createPipeline({
      spec,
      consumer,
      delivery: 'push',
      handler,
      deadLetter: sink,
      counters: stats.of(consumer.name),
      log,
      traceProject: 'proj',
    });
    return { pipeline, sink, stats, lines };
  }

  it('counts done and duplicate', async () => {
    let n = 0;
    const { pipeline, stats } = setup(async () => (n++ === 0 ? 'done' : 'duplicate'));
    expect(await pipeline(message(), 'sub')).toBe('done');
    expect(await pipeline(message(), 'sub')).toBe('duplicate');
    expect(stats.snapshot()).toEqual({ service: 'test', consumers: { [consumer.name]: { received: 2, done: 1, duplicate: 1, deadLettered: 0, failed: 0 } } });
  });

  it('dead-letters a poison message at once, data unchanged, without calling the handler', async () => {
    const handler = jest.fn(async () => 'done' as const);
    const { pipeline, sink, stats } = setup(handler);
    const m = message();
    m.attributes['ce-type'] = 'purchase';
    expect(await pipeline(m, 'projects/p/subscriptions/s')).toBe('dead-lettered');
    expect(handler).not.toHaveBeenCalled();
    expect(sink.published[0].message.data).toBe(m.data);
    expect(sink.published[0].info).toMatchObject({ reason: 'unknown-type', consumer: consumer.name, sourceSubscription: 'projects/p/subscriptions/s' });
    expect(stats.of(consumer.name)).toMatchObject({ received: 1, deadLettered: 1 });
  });

  it('dead-letters when the handler throws PoisonError', async () => {
    const { pipeline, sink } = setup(async () => {
      throw new PoisonError('like without post', 'handler');
    });
    expect(await pipeline(message(), 's')).toBe('dead-lettered');
    expect(sink.published[0].info).toMatchObject({ reason: 'handler', error: 'like without post' });
  });

  it('retries (never drops) when the dead-letter publish fails', async () => {
    const { pipeline, sink, stats } = setup(async () => 'done');
    sink.fail = true;
    const m = message();
    m.data = Buffer.from('nope');
    expect(await pipeline(m, 's')).toBe('retry');
    expect(stats.of(consumer.name)).toMatchObject({ deadLettered: 0, failed: 1 });
  });

  it('retries transient and unexpected errors, logging WARNING and ERROR', async () => {
    let error: Error = new TransientError('firestore busy');
    const { pipeline, stats, lines } = setup(async () => {
      throw error;
    });
    expect(await pipeline(message(), 's')).toBe('retry');
    error = new TypeError('undefined is not a function');
    expect(await pipeline(message(), 's')).toBe('retry');
    expect(stats.of(consumer.name).failed).toBe(2);
    expect(lines.map((l) => l.severity)).toEqual(['WARNING', 'ERROR']);
  });

  it('logs in Cloud Logging shape with the trace of the message', async () => {
    const { pipeline, lines } = setup(async () => 'done');
    const m = message();
    m.attributes['ce-traceparent'] = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await pipeline(m, 's');
    expect(lines[0]).toMatchObject({
      severity: 'DEBUG',
      message: 'event handled',
      service: 'test',
      consumer: consumer.name,
      'logging.googleapis.com/trace': 'projects/proj/traces/0af7651916cd43dd8448eb211c80319c',
      'logging.googleapis.com/spanId': 'b7ad6b7169203331',
    });
    expect(typeof lines[0].time).toBe('string');
    expect(lines[0].pid).toBeUndefined();
  });

  it('falls back to a bare traceparent attribute when the message has no ce-traceparent', async () => {
    const { pipeline, lines } = setup(async () => 'done');
    const m = message();
    delete m.attributes['ce-traceparent'];
    m.attributes.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await pipeline(m, 's');
    expect(lines[0]['logging.googleapis.com/trace']).toBe('projects/proj/traces/0af7651916cd43dd8448eb211c80319c');
  });
});

describe('traceFields', () => {
  it('ignores malformed or all-zero trace ids', () => {
    expect(traceFields(undefined)).toBeUndefined();
    expect(traceFields('garbage')).toBeUndefined();
    expect(traceFields('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBeUndefined();
    expect(traceFields('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')).toEqual({
      'logging.googleapis.com/trace': '0af7651916cd43dd8448eb211c80319c',
      'logging.googleapis.com/spanId': 'b7ad6b7169203331',
      'logging.googleapis.com/trace_sampled': false,
    });
  });
});
