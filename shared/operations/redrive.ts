/**
 * A redrive, audited: who sends what back to which consumer and why, recorded before anything moves
 * (started, with the selection) and after (completed with every event id redriven, or failed with
 * the error and what was sent before it). The redrive itself is shared/consumer/hold-actions.ts.
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { HeldMessage } from '../consumer/dead-letter-hold';
import { redriveHeld, selectionRecord, type HeldSelection } from '../consumer/hold-actions';
import { Pacer } from '../replay/pacer';
import type { ConsumerSpec } from '../spec/types';
import { assertAccountable, newOperationId, stepsOf, withAuditSteps, type Accountable, type OperationsAudit } from './audit';

export interface HoldOperationRequest extends Partial<Pick<Accountable, 'owner' | 'intent'>> {
  operator: string;
  consumer: ConsumerSpec;
  select?: HeldSelection;
  /** At most this many messages. Default 100 (the hold reader's). */
  max?: number;
  /** Stop when the hold gave nothing for this long (HoldOptions.idleMs). */
  idleMs?: number;
  /** Called after each message taken, with how many so far (a progress bar). */
  onProgress?: (count: number) => void;
}

export interface RedriveRequest extends HoldOperationRequest {
  /**
   * At most this many messages republished per second (a Pacer), so thousands of redriven messages
   * reach the consumer beside its real-time traffic, not as one burst. Default: no limit.
   */
  perSecond?: number;
}

export interface RedriveOutcome {
  operationId: string;
  redriven: HeldMessage[];
}

/** How an audit row names a held message: its event id, else its id in the hold. */
export const affectedEventOf = (m: HeldMessage) => m.eventId ?? `hold-message:${m.messageId}`;

/** A paced reader asks a Pull for what it sends in 20 s, well inside the hold's 60 s ack deadline. */
export const pacedBatch = (perSecond?: number) => (perSecond ? Math.max(1, Math.floor(perSecond * 20)) : undefined);

/** The audit steps of an operation on a hold: who, why, and the selection with its bound. */
export function holdStepsOf(operation: 'redrive' | 'purge', operationId: string, request: HoldOperationRequest, extra: Record<string, unknown> = {}) {
  return stepsOf({
    operationId,
    operation,
    consumer: request.consumer.name,
    owner: request.owner!,
    intent: request.intent!,
    operator: request.operator,
    selection: { ...selectionRecord(request.select), max: request.max ?? 100, ...extra },
  });
}

export async function auditedRedrive(pubsub: PubSub, audit: Pick<OperationsAudit, 'record'>, request: RedriveRequest): Promise<RedriveOutcome> {
  assertAccountable(request, 'a redrive');
  const operationId = newOperationId();
  const step = holdStepsOf('redrive', operationId, request, request.perSecond ? { perSecond: request.perSecond } : {});
  const pacer = request.perSecond ? new Pacer(request.perSecond) : undefined;
  // What was republished before a failure stays sent (each acked in the hold after its publish): the
  // failed step names it, and the next listing shows what is left.
  const sent: HeldMessage[] = [];
  const redriven = await withAuditSteps(
    audit,
    step,
    async () => {
      const held = await redriveHeld(pubsub, request.consumer, {
        max: request.max,
        idleMs: request.idleMs,
        select: request.select,
        batch: pacedBatch(request.perSecond),
        pace: pacer && (() => pacer.take()),
        onTaken: (count, m) => {
          sent.push(m);
          request.onProgress?.(count);
        },
      });
      return { value: held, completed: { affected: held.length, affectedEvents: held.map(affectedEventOf) } };
    },
    () => ({ affected: sent.length, affectedEvents: sent.map(affectedEventOf) }),
  );
  return { operationId, redriven };
}
