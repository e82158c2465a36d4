/**
 * The fraud score of one user, as a pure fold over that user's payments in publish order (the
 * ordering key is the user, so the consumer sees them in that order). Flags:
 * - `velocity`: more than MAX_AUTHORIZATIONS_PER_MINUTE authorizations within a minute of event time;
 * - `refund-before-capture`: a refund of a payment never captured (only meaningful in order: the
 *   same events in another order would flag an honest user).
 */
export interface PaymentEventData {
  userId: string;
  paymentId: string;
  amountCents: number;
  country: string;
}

export type FraudFlag = 'velocity' | 'refund-before-capture';

export interface UserRisk {
  userId: string;
  payments: number;
  authorizedCents: number;
  /** Captured payment ids (bounded to the newest 100). */
  captured: string[];
  /** Times (ms) of the authorizations of the last minute. */
  recentAuthorizations: number[];
  flags: FraudFlag[];
  /** Event ids applied, newest last (bounded to 20): shows the order the user's events were scored in. */
  lastEvents: string[];
}

export const MAX_AUTHORIZATIONS_PER_MINUTE = 3;

export const emptyRisk = (userId: string): UserRisk => ({
  userId,
  payments: 0,
  authorizedCents: 0,
  captured: [],
  recentAuthorizations: [],
  flags: [],
  lastEvents: [],
});

export function applyPayment(risk: UserRisk, type: string, data: PaymentEventData, eventId: string, timeMs: number): UserRisk {
  const next: UserRisk = { ...risk, payments: risk.payments + 1, lastEvents: [...risk.lastEvents, eventId].slice(-20) };
  const flag = (f: FraudFlag) => (next.flags = next.flags.includes(f) ? next.flags : [...next.flags, f]);
  if (type === 'payment.authorized') {
    next.authorizedCents = risk.authorizedCents + data.amountCents;
    next.recentAuthorizations = [...risk.recentAuthorizations.filter((t) => timeMs - t < 60_000), timeMs];
    if (next.recentAuthorizations.length > MAX_AUTHORIZATIONS_PER_MINUTE) flag('velocity');
  } else if (type === 'payment.captured') {
    next.captured = [...risk.captured, data.paymentId].slice(-100);
  } else if (type === 'payment.refunded' && !risk.captured.includes(data.paymentId)) {
    flag('refund-before-capture');
  }
  return next;
}
