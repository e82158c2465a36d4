/**
 * A redrive, audited: who sends what back to which consumer and why, recorded before anything moves
 * (started, with the selection) and after (completed with every event id redriven, or failed with
 * the error and how far it got). The redrive itself is shared/consumer/dead-letter-hold.ts.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { redriveHeld, type HeldMessage, type HeldSelection } from '../consumer/dead-letter-hold';
import type { ConsumerSpec } from '../spec/types';
import { assertAccountable, newOperationId, stepsOf, withAuditSteps, type Accountable, type OperationsAudit } from './audit';

export interface RedriveRequest extends Partial<Pick<Accountable, 'owner' | 'intent'>> {
  operator: string;
  consumer: ConsumerSpec;
  select?: HeldSelection;
  /** At most this many messages. Default 100 (redriveHeld's). */
  max?: number;
  /** Stop when the hold gave nothing for this long (redriveHeld's idleMs). */
  idleMs?: number;
}

export interface RedriveOutcome {
  operationId: string;
  redriven: HeldMessage[];
}

export async function auditedRedrive(pubsub: PubSub, audit: Pick<OperationsAudit, 'record'>, request: RedriveRequest): Promise<RedriveOutcome> {
  assertAccountable(request, 'a redrive');
  const operationId = newOperationId();
  const step = stepsOf({
    operationId,
    operation: 'redrive',
    consumer: request.consumer.name,
    owner: request.owner,
    intent: request.intent,
    operator: request.operator,
    selection: { ...request.select, max: request.max ?? 100 },
  });
  // What was republished before a failure stays sent (each acked in the hold after its publish): the
  // next listing shows what is left.
  const redriven = await withAuditSteps(audit, step, async () => {
    const held = await redriveHeld(pubsub, request.consumer, { max: request.max, idleMs: request.idleMs, select: request.select });
    return { value: held, completed: { affected: held.length, affectedEvents: held.map((m) => m.eventId ?? `hold-message:${m.messageId}`) } };
  });
  return { operationId, redriven };
}
