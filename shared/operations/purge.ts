/**
 * A purge, audited: the selected dead letters leave the consumer's hold for good (nobody will
 * redrive them: poison triaged and understood, test traffic). Recorded like a redrive: started with
 * the selection, completed with every event purged, or failed with what was purged before.
 *
 * Nothing is lost: every dead letter was copied into BigQuery's dead_letters from its own
 * subscription (services/warehouse/dead-letter-archive.ts) and stays there, so a purge refuses to
 * run for a spec whose mesh has no warehouse to have copied it.
 *
 * On the emulators the local health monitor cannot see what a hold holds: the purge announces the
 * hold message ids it took on localTapNames.holdExitsTopic (shared/health/local.ts reads them).
 */
import type { PubSub } from '@google-cloud/pubsub';
import { UserError } from '../errors';
import type { HeldMessage } from '../consumer/dead-letter-hold';
import { purgeHeld } from '../consumer/hold-actions';
import { archivesDeadLetters, localTapNames, type HoldExitNotice } from '../spec/names';
import type { MeshSpec } from '../spec/types';
import { assertAccountable, newOperationId, withAuditSteps, type OperationsAudit } from './audit';
import { affectedEventOf, holdStepsOf, type HoldOperationRequest } from './redrive';

export interface PurgeOutcome {
  operationId: string;
  purged: HeldMessage[];
}

export async function auditedPurge(
  pubsub: PubSub,
  audit: Pick<OperationsAudit, 'record'>,
  spec: MeshSpec,
  request: HoldOperationRequest,
): Promise<PurgeOutcome> {
  assertAccountable(request, 'a purge');
  if (!archivesDeadLetters(spec))
    throw new UserError(`a purge would lose ${request.consumer.name}'s dead letters: this spec has no warehouse service copying them into dead_letters`, {
      hint: 'redrive them, or add the warehouse service to the spec first',
    });
  const operationId = newOperationId();
  const step = holdStepsOf('purge', operationId, request);
  const done: HeldMessage[] = [];
  try {
    const purged = await withAuditSteps(
      audit,
      step,
      async () => {
        const taken = await purgeHeld(pubsub, request.consumer, {
          max: request.max,
          idleMs: request.idleMs,
          select: request.select,
          onTaken: (count, m) => {
            done.push(m);
            request.onProgress?.(count);
          },
        });
        return { value: taken, completed: { affected: taken.length, affectedEvents: taken.map(affectedEventOf), detail: 'copies stay in dead_letters' } };
      },
      () => ({ affected: done.length, affectedEvents: done.map(affectedEventOf) }),
    );
    return { operationId, purged };
  } finally {
    if (pubsub.isEmulator && done.length)
      await announceExits(pubsub, { consumer: request.consumer.name, messageIds: done.map((m) => m.messageId), operationId });
  }
}

/** Locally only: tells the health monitor which hold messages left. A mesh applied before it existed has no topic: ignored. */
async function announceExits(pubsub: PubSub, notice: HoldExitNotice): Promise<void> {
  await pubsub
    .topic(localTapNames.holdExitsTopic)
    .publishMessage({ json: notice })
    .catch(() => undefined);
}
