/** The order projection state machine and the analytics helpers, as pure functions. */
import { activityField, likeDelta, likeShard, LIKE_SHARDS } from '../../services/processor/analytics';
import { applyOrderEvent, HISTORY_LIMIT, transitionProblem, type OrderEventInput, type OrderProjection } from '../../services/processor/orders';
import { changedFields } from '../../services/processor/store';
import { shardOf } from '../../shared/firestore';

let n = 0;
function ev(type: string, sequence: number, data: Partial<OrderEventInput['data']> = {}): OrderEventInput {
  return {
    id: `e${++n}`,
    type,
    time: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
    data: { orderId: 'o1', customerId: 'c1', sequence, amountCents: 1200, currency: 'EUR', itemCount: 2, reason: '', carrier: '', ...data },
  };
}

/** Runs events through the machine, collecting anomalies. */
function run(...events: OrderEventInput[]) {
  let projection: OrderProjection | undefined;
  const anomalies = [];
  for (const e of events) {
    const step = applyOrderEvent(projection, e);
    projection = step.projection;
    if (step.anomaly) anomalies.push(step.anomaly);
  }
  return { projection, anomalies };
}

describe('order lifecycle', () => {
  it('created -> paid -> shipped', () => {
    const { projection, anomalies } = run(ev('order.created', 1), ev('order.paid', 2, { amountCents: 1250 }), ev('order.shipped', 3, { carrier: 'DHL' }));
    expect(anomalies).toEqual([]);
    expect(projection).toMatchObject({
      orderId: 'o1',
      customerId: 'c1',
      state: 'shipped',
      amountCents: 1200,
      paidCents: 1250,
      currency: 'EUR',
      itemCount: 2,
      carrier: 'DHL',
      lastSequence: 3,
      anomalyCount: 0,
    });
    expect(projection!.history.map((h) => [h.type, h.sequence, h.applied])).toEqual([
      ['order.created', 1, true],
      ['order.paid', 2, true],
      ['order.shipped', 3, true],
    ]);
  });

  it.each([
    ['created -> cancelled', ['order.created', 'order.cancelled']],
    ['paid -> cancelled', ['order.created', 'order.paid', 'order.cancelled']],
  ])('%s', (_name, types) => {
    const { projection, anomalies } = run(...types.map((t, i) => ev(t, i + 1, { reason: 'changed mind' })));
    expect(anomalies).toEqual([]);
    expect(projection).toMatchObject({ state: 'cancelled', cancelReason: 'changed mind' });
  });

  it('does not mutate the projection it was given', () => {
    const first = applyOrderEvent(undefined, ev('order.created', 1)).projection!;
    const frozen = JSON.stringify(first);
    applyOrderEvent(first, ev('order.paid', 2));
    expect(JSON.stringify(first)).toBe(frozen);
  });
});

describe('impossible transitions are anomalies, not corruption', () => {
  it.each([
    ['shipped before paid', ['order.created', 'order.shipped'], 'created', /shipped before paid/],
    ['paid twice', ['order.created', 'order.paid', 'order.paid'], 'paid', /paid twice/],
    ['shipped twice', ['order.created', 'order.paid', 'order.shipped', 'order.shipped'], 'shipped', /shipped twice/],
    ['paid after shipped', ['order.created', 'order.paid', 'order.shipped', 'order.paid'], 'shipped', /paid after shipped/],
    ['cancelled after shipped', ['order.created', 'order.paid', 'order.shipped', 'order.cancelled'], 'shipped', /cancelled after shipped/],
    ['paid after cancelled', ['order.created', 'order.cancelled', 'order.paid'], 'cancelled', /after the order was cancelled/],
    ['shipped after cancelled', ['order.created', 'order.cancelled', 'order.shipped'], 'cancelled', /after the order was cancelled/],
    ['cancelled twice', ['order.created', 'order.cancelled', 'order.cancelled'], 'cancelled', /after the order was cancelled/],
    ['created twice', ['order.created', 'order.created'], 'created', /created twice/],
    ['created again after paid', ['order.created', 'order.paid', 'order.created'], 'paid', /order.created for an order already paid/],
  ])('%s', (_name, types, state, reason) => {
    const events = types.map((t, i) => ev(t, i + 1));
    const { projection, anomalies } = run(...events);
    expect(projection!.state).toBe(state);
    expect(anomalies).toHaveLength(1);
    const last = events[events.length - 1];
    expect(anomalies[0]).toMatchObject({ orderId: 'o1', eventId: last.id, type: last.type, kind: 'invalid-transition', sequence: types.length, state });
    expect(anomalies[0].reason).toMatch(reason);
    // The event is recorded in sequence but not applied.
    expect(projection!.history[projection!.history.length - 1]).toMatchObject({ eventId: last.id, applied: false });
    expect(projection).toMatchObject({ lastSequence: types.length, anomalyCount: 1 });
  });

  it('a step for an order never created leaves no projection', () => {
    const step = applyOrderEvent(undefined, ev('order.paid', 2));
    expect(step.projection).toBeUndefined();
    expect(step.changed).toBe(false);
    expect(step.anomaly).toMatchObject({ kind: 'unknown-order', state: null, problems: [{ kind: 'gap' }, { kind: 'unknown-order' }] });
  });
});

describe('sequence checks', () => {
  it('records a gap and still applies a valid step', () => {
    const { projection, anomalies } = run(ev('order.created', 1), ev('order.paid', 4));
    expect(projection).toMatchObject({ state: 'paid', lastSequence: 4, anomalyCount: 1 });
    expect(anomalies).toEqual([
      expect.objectContaining({ kind: 'gap', sequence: 4, expectedSequence: 2, reason: expect.stringMatching(/2 event\(s\) missing/) }),
    ]);
  });

  it('records a gap together with an invalid transition', () => {
    const { anomalies } = run(ev('order.created', 1), ev('order.shipped', 3));
    expect(anomalies[0].problems.map((p) => p.kind)).toEqual(['gap', 'invalid-transition']);
  });

  it('records a first event that is not sequence 1 as a gap', () => {
    const { projection, anomalies } = run(ev('order.created', 3));
    expect(projection).toMatchObject({ state: 'created', lastSequence: 3, anomalyCount: 1 });
    expect(anomalies[0]).toMatchObject({ kind: 'gap', expectedSequence: 1 });
  });

  it('ignores a stale (reordered) event and records it', () => {
    const created = ev('order.created', 1);
    const { projection, anomalies } = run(created, ev('order.paid', 2), ev('order.cancelled', 2), ev('order.created', 1));
    expect(projection).toMatchObject({ state: 'paid', lastSequence: 2, anomalyCount: 2, lastEventId: expect.any(String) });
    expect(projection!.history).toHaveLength(2);
    expect(anomalies.map((a) => a.kind)).toEqual(['stale', 'stale']);
    expect(anomalies[0].reason).toMatch(/sequence 2 arrived after 2/);
  });

  it('lets event types it does not know only advance the sequence (forward compatible)', () => {
    const { projection, anomalies } = run(ev('order.created', 1), ev('order.updated', 2), ev('order.paid', 3), ev('order.updated', 4));
    expect(anomalies).toEqual([]);
    expect(projection).toMatchObject({ state: 'paid', lastSequence: 4 });
    expect(transitionProblem('order.updated', null)).toMatchObject({ kind: 'unknown-order' });
  });

  it('keeps the last HISTORY_LIMIT history entries', () => {
    const events = [ev('order.created', 1), ...Array.from({ length: HISTORY_LIMIT + 10 }, (_, i) => ev('order.updated', i + 2))];
    const { projection } = run(...events);
    expect(projection!.history).toHaveLength(HISTORY_LIMIT);
    expect(projection!.history[HISTORY_LIMIT - 1].sequence).toBe(HISTORY_LIMIT + 11);
  });
});

describe('what the store writes for a step (changedFields)', () => {
  it('only the fields the step changed, which on the stored projection give the new one', () => {
    const created = run(ev('order.created', 1)).projection!;
    const paid = applyOrderEvent(created, ev('order.paid', 2, { amountCents: 1250 })).projection!;
    const update = changedFields(created, paid);
    expect(Object.keys(update).sort()).toEqual(['history', 'lastEventId', 'lastSequence', 'paidCents', 'state', 'updatedAt']);
    expect({ ...created, ...update }).toEqual(paid);
  });

  it('a stale event changes only the anomaly count', () => {
    const { projection } = run(ev('order.created', 1), ev('order.paid', 2));
    const stale = applyOrderEvent(projection, ev('order.created', 1)).projection!;
    expect(changedFields(projection, stale)).toEqual({ anomalyCount: 1 });
  });

  it('a field the stored document lacks is written; nothing changed writes the whole projection', () => {
    const { projection } = run(ev('order.created', 1));
    const { carrier: _carrier, ...older } = projection!;
    expect(changedFields(older, projection!)).toEqual({ carrier: '' });
    expect(changedFields(projection, projection!)).toEqual(projection);
  });
});

describe('analytics helpers', () => {
  it('maps like events to +1/-1', () => {
    expect([likeDelta('like.created'), likeDelta('like.removed'), likeDelta('click')]).toEqual([1, -1, 0]);
  });
  it('spreads event ids over the shards, the same id always on the same shard', () => {
    const counts = new Array(LIKE_SHARDS).fill(0);
    for (let i = 0; i < 10000; i++) counts[likeShard(`0190a3b2-7c4d-7e8f-9a0b-${String(i).padStart(12, '0')}`)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(likeShard('abc')).toBe(likeShard('abc'));
  });
  it('turns event types into flat field names', () => {
    expect(activityField('like.created')).toBe('like_created');
  });
  it('puts an event on the shard of its id: FNV-1a mod LIKE_SHARDS (the one hash of shared/firestore)', () => {
    expect(likeShard('abc')).toBe(shardOf('abc', LIKE_SHARDS));
    expect(likeShard('foobar')).toBe(0xbf9cf968 % LIKE_SHARDS);
  });
});
