/**
 * The order projection as pure functions: (projection, event) -> (projection, anomaly). No I/O, so
 * every transition is unit-tested; store.ts writes the result in the same transaction as the
 * dedup record.
 *
 *   (none) --created--> created --paid--> paid --shipped--> shipped
 *                          \                \
 *                           `--cancelled-----`--cancelled--> cancelled
 *
 * An impossible step (shipped before paid, paid twice, anything after cancelled, a step for an
 * order never created) leaves the state as it is and is recorded as an anomaly with the event
 * that caused it. Sequence numbers (1, 2, 3 ... per order, set by the producer) are checked
 * against the projection's lastSequence: a jump is a `gap` (events missing; the event still
 * applies if its transition is valid), an old number is `stale` (a reorder or late republish;
 * ignored). Event types of the topic this machine does not know yet only advance the sequence.
 */

import type { AnomalyKind } from '../../shared/anomalies';

export type { AnomalyKind };

export type OrderState = 'created' | 'paid' | 'shipped' | 'cancelled';

/** The orders topic payload, as read at its current revision. */
export interface OrderEventData {
  orderId: string;
  customerId: string;
  sequence: number;
  amountCents: number;
  currency: string;
  itemCount: number;
  reason: string;
  carrier: string;
}

export interface OrderEventInput {
  id: string;
  type: string;
  /** RFC 3339, from ce-time. */
  time: string;
  data: OrderEventData;
}

export interface OrderHistoryEntry {
  eventId: string;
  type: string;
  sequence: number;
  time: string;
  /** False when the event was in sequence but its transition was impossible. */
  applied: boolean;
}

export interface OrderProjection {
  orderId: string;
  customerId: string;
  state: OrderState;
  amountCents: number;
  paidCents: number;
  currency: string;
  itemCount: number;
  carrier: string;
  cancelReason: string;
  /** Highest sequence seen in order; stale events do not move it. */
  lastSequence: number;
  lastEventId: string;
  createdAt: string;
  updatedAt: string;
  /** The most recent HISTORY_LIMIT in-sequence events, oldest first. */
  history: OrderHistoryEntry[];
  anomalyCount: number;
}

export interface OrderAnomaly {
  orderId: string;
  eventId: string;
  /** The event type that caused it. */
  type: string;
  /** The main problem (a transition problem over a gap); `problems` lists all. */
  kind: AnomalyKind;
  reason: string;
  problems: { kind: AnomalyKind; reason: string }[];
  sequence: number;
  expectedSequence: number;
  /** State of the projection when the event arrived; null when the order did not exist. */
  state: OrderState | null;
  time: string;
}

export interface OrderStep {
  /** The projection after the event (unchanged object when nothing but the anomaly count moved). */
  projection: OrderProjection | undefined;
  /** True when the projection document must be written. */
  changed: boolean;
  anomaly?: OrderAnomaly;
}

export const HISTORY_LIMIT = 100;

/** Valid transitions: event type -> [from states, to state]. `null` = no projection yet. */
const TRANSITIONS: Record<string, { from: (OrderState | null)[]; to: OrderState }> = {
  'order.created': { from: [null], to: 'created' },
  'order.paid': { from: ['created'], to: 'paid' },
  'order.shipped': { from: ['paid'], to: 'shipped' },
  'order.cancelled': { from: ['created', 'paid'], to: 'cancelled' },
};

export const KNOWN_ORDER_EVENTS = Object.keys(TRANSITIONS);

/** Why `type` cannot happen in `state`, or undefined when it can. */
export function transitionProblem(type: string, state: OrderState | null): { kind: AnomalyKind; reason: string } | undefined {
  const transition = TRANSITIONS[type];
  if (!transition) return state === null ? { kind: 'unknown-order', reason: `${type} for an order that was never created` } : undefined;
  if (transition.from.includes(state)) return undefined;
  if (state === null) return { kind: 'unknown-order', reason: `${type} for an order that was never created` };
  if (state === 'cancelled') return { kind: 'invalid-transition', reason: `${type} after the order was cancelled` };
  if (transition.to === state) return { kind: 'invalid-transition', reason: `${transition.to} twice (${type} in state ${state})` };
  if (type === 'order.created') return { kind: 'invalid-transition', reason: `order.created for an order already ${state}` };
  if (type === 'order.shipped' && state === 'created') return { kind: 'invalid-transition', reason: 'shipped before paid' };
  if (type === 'order.paid' && state === 'shipped') return { kind: 'invalid-transition', reason: 'paid after shipped' };
  if (type === 'order.cancelled' && state === 'shipped') return { kind: 'invalid-transition', reason: 'cancelled after shipped' };
  return { kind: 'invalid-transition', reason: `${type} is not allowed in state ${state}` };
}

export function applyOrderEvent(current: OrderProjection | undefined, event: OrderEventInput): OrderStep {
  const { data } = event;
  const state = current?.state ?? null;
  const last = current?.lastSequence ?? 0;
  const expected = last + 1;
  const problems: { kind: AnomalyKind; reason: string }[] = [];

  const anomaly = (): OrderAnomaly => ({
    orderId: data.orderId,
    eventId: event.id,
    type: event.type,
    kind: (problems.find((p) => p.kind !== 'gap') ?? problems[0]).kind,
    reason: problems.map((p) => p.reason).join('; '),
    problems,
    sequence: data.sequence,
    expectedSequence: expected,
    state,
    time: event.time,
  });

  if (data.sequence < expected) {
    problems.push({ kind: 'stale', reason: `sequence ${data.sequence} arrived after ${last} (reordered or republished late); ignored` });
    return { projection: current && { ...current, anomalyCount: current.anomalyCount + 1 }, changed: Boolean(current), anomaly: anomaly() };
  }
  if (data.sequence > expected) problems.push({ kind: 'gap', reason: `sequence ${data.sequence} after ${last}: ${data.sequence - expected} event(s) missing` });
  const problem = transitionProblem(event.type, state);
  if (problem) problems.push(problem);

  if (!current) {
    if (problem) return { projection: undefined, changed: false, anomaly: anomaly() };
    // A valid step from nothing is order.created.
    const created: OrderProjection = {
      orderId: data.orderId,
      customerId: data.customerId,
      state: 'created',
      amountCents: data.amountCents,
      paidCents: 0,
      currency: data.currency,
      itemCount: data.itemCount,
      carrier: '',
      cancelReason: '',
      lastSequence: data.sequence,
      lastEventId: event.id,
      createdAt: event.time,
      updatedAt: event.time,
      history: [{ eventId: event.id, type: event.type, sequence: data.sequence, time: event.time, applied: true }],
      anomalyCount: problems.length ? 1 : 0,
    };
    return { projection: created, changed: true, anomaly: problems.length ? anomaly() : undefined };
  }

  const applied = !problem;
  const next: OrderProjection = {
    ...current,
    lastSequence: data.sequence,
    lastEventId: event.id,
    updatedAt: event.time,
    history: [...current.history, { eventId: event.id, type: event.type, sequence: data.sequence, time: event.time, applied }].slice(-HISTORY_LIMIT),
    anomalyCount: current.anomalyCount + (problems.length ? 1 : 0),
  };
  if (applied) {
    const transition = TRANSITIONS[event.type];
    if (transition) next.state = transition.to;
    if (event.type === 'order.paid') next.paidCents = data.amountCents || current.amountCents;
    if (event.type === 'order.shipped') next.carrier = data.carrier;
    if (event.type === 'order.cancelled') next.cancelReason = data.reason;
  }
  return { projection: next, changed: true, anomaly: problems.length ? anomaly() : undefined };
}
