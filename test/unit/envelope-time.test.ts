/** ce-time: RFC 3339 only, within bounds of the publish time; text that cannot be encoded; nesting. */
import type { PubSub } from '@google-cloud/pubsub';
import { classifyError, createDecoder } from '../../shared/consumer';
import {
  DEFAULT_EVENT_TIME_BOUNDS,
  EnvelopeError,
  MAX_DATA_DEPTH,
  dataProblem,
  eventTimeProblem,
  fromPubsubMessage,
  parseRfc3339,
  toPubsubMessage,
  type IncomingMessage,
} from '../../shared/envelope';
import { MeshPublisher } from '../../shared/publisher';
import { defaultSpec } from '../support/specs';

describe('parseRfc3339', () => {
  it.each([
    ['2024-05-01T13:45:00Z', Date.UTC(2024, 4, 1, 13, 45)],
    ['2024-05-01T13:45:00.123Z', Date.UTC(2024, 4, 1, 13, 45, 0, 123)],
    ['2024-05-01T13:45:00.123456789Z', Date.UTC(2024, 4, 1, 13, 45, 0, 123)],
    ['2024-05-01T15:45:00+02:00', Date.UTC(2024, 4, 1, 13, 45)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2016-12-31T23:59:60Z', Date.UTC(2016, 11, 31, 23, 59, 59)],
    ['9999-12-31T23:59:59Z', Date.UTC(9999, 11, 31, 23, 59, 59)],
  ])('reads %s', (text, ms) => expect(parseRfc3339(text)).toBe(ms));

  it.each([
    '1',
    'yesterday',
    'Wed, 01 May 2024 13:45:00 GMT',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T13:45Z',
    '2024-05-01 13:45:00Z',
    '2024-05-01T13:45:00',
    '2024-05-01',
    '2024-05-01T13:45:00+24:00',
    '+002024-05-01T13:45:00Z',
  ])('refuses %s', (text) => expect(parseRfc3339(text)).toBeUndefined());
});

describe('eventTimeProblem', () => {
  const published = Date.UTC(2026, 0, 10, 12);
  const bounds = DEFAULT_EVENT_TIME_BOUNDS;

  it('takes times from maxAge before to maxAhead after the publish time', () => {
    expect(eventTimeProblem(published, published, bounds)).toBeUndefined();
    expect(eventTimeProblem(published - bounds.maxAgeSeconds * 1000, published, bounds)).toBeUndefined();
    expect(eventTimeProblem(published + bounds.maxAheadSeconds * 1000, published, bounds)).toBeUndefined();
  });

  it('refuses times past either bound, saying which', () => {
    expect(eventTimeProblem(published - bounds.maxAgeSeconds * 1000 - 1, published, bounds)).toMatch(/more than 366d before its publish time/);
    expect(eventTimeProblem(published + bounds.maxAheadSeconds * 1000 + 1, published, bounds)).toMatch(/more than 1h after its publish time/);
    expect(eventTimeProblem(parseRfc3339('9999-12-31T23:59:59Z')!, published, bounds)).toMatch(/after/);
    expect(eventTimeProblem(parseRfc3339('0000-01-01T00:00:00Z')!, published, bounds)).toMatch(/before/);
  });

  it('judges against the publish time, not the clock: a redelivery a day later gets the same verdict', () => {
    const time = published - bounds.maxAgeSeconds * 1000 + 1000;
    const aDayLater = published + 24 * 3600_000;
    expect(eventTimeProblem(time, published, bounds, aDayLater)).toBeUndefined();
    expect(eventTimeProblem(time, undefined, bounds, aDayLater)).toMatch(/before now/);
  });
});

describe('dataProblem', () => {
  it('names the field holding a lone surrogate, in values and keys', () => {
    expect(dataProblem({ userId: 'u\ud800' })).toMatchObject({ kind: 'bad-encoding', field: 'data.userId' });
    expect(dataProblem({ items: [{ name: 'ok' }, { name: '\udc00x' }] })).toMatchObject({ kind: 'bad-encoding', field: 'data.items[1].name' });
    expect(dataProblem({ ['k\ud83d']: 1 })).toMatchObject({ kind: 'bad-encoding', field: 'data.k\uFFFD' });
    // Paths print long keys cut at 40 characters, short ones as they are.
    const long = 'k'.repeat(50);
    expect(dataProblem({ [long]: { short: '\ud800' } })).toMatchObject({ field: `data.${'k'.repeat(40)}….short` });
    expect(dataProblem({ emoji: 'ok \ud83d\ude00' })).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_DATA_DEPTH} levels without overflowing on 100,000`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH - 1; i++) deep = [deep];
    expect(dataProblem({ x: deep })).toBeUndefined();
    expect(dataProblem({ x: [deep] })).toMatchObject({ kind: 'too-deep' });
    const huge = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(dataProblem(huge)).toMatchObject({ kind: 'too-deep' });
  });
});

describe('the decoder', () => {
  const spec = defaultSpec();
  const decode = createDecoder(spec, spec.consumers['dashboard-analytics'] ?? Object.values(spec.consumers).find((c) => c.topic === 'analytics')!);
  const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });
  /** A plain-client producer's message: the publisher itself would refuse these times. */
  const message = (time: string, publishTime?: Date): IncomingMessage => {
    const { event } = publisher.prepare('analytics', 'click', { userId: 'u1', page: '/' });
    const out = toPubsubMessage(event);
    return { data: out.data, attributes: { ...out.attributes, 'ce-time': time }, messageId: 'm1', publishTime, deliveryAttempt: 1 };
  };
  const verdict = (m: IncomingMessage) => {
    try {
      decode(m);
      return 'ok';
    } catch (error) {
      const v = classifyError(error);
      return v.kind === 'poison' ? v.reason : 'transient';
    }
  };

  it('dead-letters out-of-range times at once with time-out-of-range, takes late events within maxAge', () => {
    const now = new Date();
    expect(verdict(message('9999-12-31T23:59:59Z', now))).toBe('time-out-of-range');
    expect(verdict(message('0000-01-01T00:00:00Z', now))).toBe('time-out-of-range');
    expect(verdict(message(new Date(now.getTime() - 36 * 3600_000).toISOString(), now))).toBe('ok');
  });

  it('dead-letters a lone surrogate in ce-id as bad-encoding', () => {
    const m = message(new Date().toISOString(), new Date());
    m.attributes['ce-id'] = 'id-\ud800';
    expect(() => fromPubsubMessage(m)).toThrow(EnvelopeError);
    expect(verdict(m)).toBe('bad-encoding');
  });
});

describe('MeshPublisher refuses what every consumer would dead-letter', () => {
  const spec = defaultSpec();
  const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });
  const prepare = (data: Record<string, unknown>, options: { time?: string; id?: string } = {}) =>
    publisher.prepare('analytics', 'click', { userId: 'u1', page: '/', ...data }, options);

  it('names the field: time, id, data', () => {
    expect(() => prepare({}, { time: 'yesterday' })).toThrow(expect.objectContaining({ name: 'EventRejectedError', field: 'time' }));
    expect(() => prepare({}, { time: '9999-12-31T23:59:59Z' })).toThrow(expect.objectContaining({ field: 'time', message: expect.stringMatching(/after/) }));
    expect(() => prepare({}, { id: 'e-\ud800' })).toThrow(expect.objectContaining({ field: 'id' }));
    expect(() => prepare({ page: '/\udc00' })).toThrow(expect.objectContaining({ field: 'data.page' }));
  });

  it('takes a late event within the topic bounds', () => {
    const time = new Date(Date.now() - 36 * 3600_000).toISOString();
    expect(prepare({}, { time }).event.time).toBe(time);
  });
});
