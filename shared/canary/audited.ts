/**
 * The canary's operations as the audit records them (operations_audit: who, why, what, outcome):
 * `canary-start`, `canary-promote`, `canary-abort`. An abort by the threshold is recorded the same
 * way, with `threshold` as the operator and the verdict as its detail, by the stable instance that
 * made it; an instance that cannot write the audit still gives the messages back (the control keeps
 * the record), because losing the canary's messages for want of an audit row would be worse.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { newOperationId, stepsOf, withAuditSteps, type OperationRecord, type OperationsAudit } from '../operations/audit';
import type { ConsumerSpec } from '../spec/types';
import { writeCanary, type CanaryControl } from './control';
import type { CanaryVerdict } from './judge';
import { cleanUpCanary, finishCanary, startCanary, type CanaryCleanup, type CleanupOptions } from './lifecycle';

export interface CanaryTarget {
  pubsub: PubSub;
  firestore: Firestore;
  audit: Pick<OperationsAudit, 'record'>;
}

export interface CanaryRequest {
  consumer: ConsumerSpec;
  owner: string;
  intent: string;
  operator: string;
}

const movedDetail = (c: CanaryCleanup) =>
  `${c.backlogMoved} message(s) moved from the canary subscription and ${c.deadLettersRedriven} dead letter(s) redriven to the stable side`;

export async function auditedCanaryStart(
  target: CanaryTarget,
  request: CanaryRequest & { share: number; build: string; deployed?: boolean },
  /** Starts the canary instance once the control runs (locally: a second process); its answer is recorded on the control. */
  launch?: (control: CanaryControl) => Promise<CanaryControl['local']>,
): Promise<CanaryControl> {
  const operationId = newOperationId();
  const step = stepsOf({
    operationId,
    operation: 'canary-start',
    consumer: request.consumer.name,
    owner: request.owner,
    intent: request.intent,
    operator: request.operator,
    selection: { share: request.share, build: request.build },
  });
  return withAuditSteps(target.audit, step, async () => {
    let control = await startCanary(target, { ...request, canaryId: operationId });
    if (launch) {
      try {
        control = { ...control, local: await launch(control) };
        await writeCanary(target.firestore, control);
      } catch (error) {
        await finishCanary(target, request.consumer, 'aborted', {
          at: new Date().toISOString(),
          by: request.operator,
          reason: `the canary did not start: ${(error as Error).message}`,
        });
        throw error;
      }
    }
    return { value: control, completed: { detail: `${request.share}% of ${request.consumer.name} to ${request.build} from ${control.since}` } };
  });
}

export async function auditedCanaryEnd(
  target: CanaryTarget,
  request: CanaryRequest & { state: 'aborted' | 'promoted' },
  options: CleanupOptions = {},
): Promise<{ control: CanaryControl; cleanup: CanaryCleanup; operationId: string }> {
  const operationId = newOperationId();
  const step = stepsOf({
    operationId,
    operation: request.state === 'aborted' ? 'canary-abort' : 'canary-promote',
    consumer: request.consumer.name,
    owner: request.owner,
    intent: request.intent,
    operator: request.operator,
  });
  const ended = { at: new Date().toISOString(), by: request.operator, reason: request.intent };
  const result = await withAuditSteps(target.audit, step, async () => {
    const done = await finishCanary(target, request.consumer, request.state, ended, options);
    return { value: done, completed: { affected: done.cleanup.backlogMoved + done.cleanup.deadLettersRedriven, detail: movedDetail(done.cleanup) } };
  });
  return { ...result, operationId };
}

/** The stable side's end of a canary its judge aborted: recorded when the audit can be written, done in any case. */
export async function recordedAutoAbort(
  target: CanaryTarget,
  consumer: ConsumerSpec,
  control: CanaryControl,
  verdict: CanaryVerdict,
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
  /**
   * Give the messages back here. Locally yes; in GCP the stable side may not publish to the redrive
   * topic (operators only, infra/operators.ts), so they wait in `<c>-canary` for `mesh canary abort --gcp`.
   */
  giveBack = true,
): Promise<void> {
  const record = async (r: OperationRecord) => {
    try {
      await target.audit.record(r);
    } catch (error) {
      log.warn({ err: error, operationId: r.operationId, state: r.state }, 'cannot write the canary abort to operations_audit; the canary control keeps it');
    }
  };
  const step = stepsOf({
    operationId: newOperationId(),
    operation: 'canary-abort',
    consumer: consumer.name,
    owner: control.owner,
    intent: `automatic abort of ${control.canaryId}: ${verdict.reason}`,
    operator: 'threshold',
    selection: { canaryId: control.canaryId, share: control.share, build: control.build },
  });
  await withAuditSteps({ record }, step, async () => {
    if (!giveBack)
      return {
        value: undefined,
        completed: {
          detail: `the split ended: every bucket is the stable side's; what the canary left waits in ${consumer.name}-canary for \`mesh canary abort ${consumer.name} --gcp\``,
        },
      };
    const cleanup = await cleanUpCanary(target, consumer, control, { log });
    return { value: cleanup, completed: { affected: cleanup.backlogMoved + cleanup.deadLettersRedriven, detail: movedDetail(cleanup) } };
  });
}
