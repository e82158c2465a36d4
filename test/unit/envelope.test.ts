import { ATTR, EnvelopeError, createEvent, fromPubsubMessage, newEventId, readPubsubMessage, toPubsubMessage } from '../../shared/envelope';

describe('event envelope (CloudEvents Pub/Sub binary mode)', () => {
  const event = createEvent({
    type: 'order.paid',
    source: '//checkout/api',
    subject: 'o-1',
    topic: 'orders',
    schemaVersion: 'v2',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data: { orderId: 'o-1', amountCents: 1250 },
  });

  it('puts the context in ce-* attributes and the data, unchanged, in the body', () => {
    const message = toPubsubMessage(event, 'o-1');
    expect(message.attributes).toEqual({
      'ce-id': event.id,
      'ce-type': 'order.paid',
      'ce-source': '//checkout/api',
      'ce-time': event.time,
      'ce-subject': 'o-1',
      'ce-specversion': '1.0',
      'ce-dataschema': 'urn:event-mesh:schema:orders:v2',
      'ce-traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'content-type': 'application/json',
    });
    expect(JSON.parse(message.data.toString())).toEqual({ orderId: 'o-1', amountCents: 1250 });
    expect(message.orderingKey).toBe('o-1');
  });

  it('round-trips', () => {
    expect(fromPubsubMessage(toPubsubMessage(event))).toEqual(event);
  });

  it('hands over the time and dataschema it parsed, so the consumer runtime need not parse them again', () => {
    const message = toPubsubMessage(event);
    message.attributes[ATTR.time] = '2024-05-01T13:45:00.250+02:00';
    const read = readPubsubMessage(message);
    expect(read.event).toEqual(fromPubsubMessage(message));
    expect(read.timeMs).toBe(Date.parse('2024-05-01T11:45:00.250Z'));
    expect(read.dataschema).toEqual({ topic: 'orders', revision: 'v2' });

    delete message.attributes[ATTR.time];
    delete message.attributes[ATTR.dataschema];
    const bare = readPubsubMessage(message);
    expect(bare.timeMs).toBeUndefined();
    expect(bare.dataschema).toBeUndefined();
    expect(bare.event.time).toBe('');
  });

  it('uses sortable UUIDv7 ids', async () => {
    const a = newEventId();
    await new Promise((r) => setTimeout(r, 2));
    const b = newEventId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });

  it.each([
    ['missing-attribute', (m: ReturnType<typeof toPubsubMessage>) => delete m.attributes[ATTR.id], /ce-id is missing/],
    ['missing-attribute', (m: ReturnType<typeof toPubsubMessage>) => delete m.attributes[ATTR.type], /ce-type is missing/],
    ['unsupported-specversion', (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.specversion] = '0.3'), /expected 1.0/],
    ['bad-attribute', (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.time] = 'yesterday'), /not an RFC 3339 date-time/],
    ['bad-attribute', (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.contentType] = 'text/plain'), /not JSON/],
    ['not-json', (m: ReturnType<typeof toPubsubMessage>) => (m.data = Buffer.from('{"orderId": ')), /data is not JSON/],
    ['bad-attribute', (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.dataschema] = 'orders/v2'), /not a mesh schema URI/],
    [
      'bad-attribute',
      (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.dataschema] = 'urn:event-mesh:schema:orders:latest'),
      /not a mesh schema URI/,
    ],
    [
      'bad-attribute',
      (m: ReturnType<typeof toPubsubMessage>) => (m.attributes[ATTR.schemaVersion] = 'v1'),
      /names revision v2 but the deprecated ce-schemaversion says "v1"/,
    ],
    ['bad-encoding', (m: ReturnType<typeof toPubsubMessage>) => (m.attributes['ce-tenant'] = 'a\ud800'), /ce-tenant .* lone UTF-16 surrogate/],
  ])('rejects a message with problem %s', (problem, spoil, message) => {
    const m = toPubsubMessage(event);
    spoil(m);
    try {
      fromPubsubMessage(m);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(EnvelopeError);
      expect((error as EnvelopeError).problem).toBe(problem);
      expect((error as Error).message).toMatch(message);
    }
  });
});
