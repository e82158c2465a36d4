/**
 * Pause and resume a consumer, audited (audit.ts): recorded before anything changes (started), then
 * completed or failed. What a pause does, per delivery, is in controls.ts: the control document tells
 * pull services and the local push relay to stop pulling; a push subscription that Pub/Sub itself
 * pushes (GCP, or `mesh up --push emulator`) is also switched to pull, its push config kept in the
 * control so resume() puts it back. Locally the relay's subscriptions have no push endpoint: nothing
 * to switch.
 *
 * Order of a pause: the push switch first, then the control. If writing the control fails, the push
 * config is put back, so the two never disagree for long (and a later `pulumi up` reads the control).
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { UserError } from '../errors';
import { approxDuration } from '../spec/duration';
import { consumerResources, subscriptionRetentionSeconds } from '../spec/names';
import type { ConsumerSpec } from '../spec/types';
import { assertAccountable, newOperationId, stepsOf, withAuditSteps, type Accountable, type OperationsAudit } from './audit';
import { readControl, writeControl, type ConsumerControl, type SavedPushConfig } from './controls';

export interface PauseRequest extends Partial<Pick<Accountable, 'owner' | 'intent'>> {
  operator: string;
  consumer: ConsumerSpec;
}

export interface PauseTarget {
  pubsub: PubSub;
  firestore: Firestore;
  audit: Pick<OperationsAudit, 'record'>;
}

export interface PauseOutcome {
  operationId: string;
  control: ConsumerControl;
  /** Where the consumer's messages wait meanwhile, and for how long at most. */
  subscriptions: string[];
  retentionSeconds: number;
}

function assertPausable(consumer: ConsumerSpec): void {
  if (consumer.delivery === 'bigquery')
    throw new UserError(`${consumer.name} is a BigQuery subscription: Pub/Sub writes it to BigQuery itself, with nothing of the mesh to pause`, {
      hint: 'a BigQuery outage is retried by Pub/Sub; what it cannot write is dead-lettered (mesh dead-letters)',
    });
}

/** Stops delivery to `consumer` only; its messages wait in its subscriptions. */
export async function auditedPause(target: PauseTarget, request: PauseRequest): Promise<PauseOutcome> {
  assertAccountable(request, 'a pause');
  assertPausable(request.consumer);
  const { consumer } = request;
  const current = await readControl(target.firestore, consumer.name);
  if (current?.paused)
    throw new UserError(`${consumer.name} is already paused (since ${current.since}, by ${current.owner}: ${current.intent})`, {
      hint: `resume it with: npm run mesh -- resume ${consumer.name} --owner NAME --intent "why"`,
    });
  const operationId = newOperationId();
  const subscriptions = subscriptionsOf(consumer);
  const retentionSeconds = subscriptionRetentionSeconds(consumer);
  const step = stepsOf({ operationId, operation: 'pause', ...whoOf(request), selection: { delivery: consumer.delivery, subscriptions } });
  const control = await withAuditSteps(target.audit, step, async () => {
    const switched: Record<string, SavedPushConfig> = {};
    if (consumer.delivery === 'push') {
      for (const name of subscriptions) {
        const subscription = target.pubsub.subscription(name);
        const [metadata] = await subscription.getMetadata();
        const push = metadata.pushConfig;
        if (!push?.pushEndpoint) continue;
        // An empty push config: Pub/Sub stops pushing and keeps the messages for pulling (controls.ts).
        await subscription.modifyPushConfig({});
        switched[name] = savedPushConfig(push);
      }
    }
    const paused = controlOf(request, operationId, true, switched);
    try {
      await writeControl(target.firestore, paused);
    } catch (error) {
      await restorePush(target.pubsub, switched);
      throw error;
    }
    return {
      value: paused,
      completed: {
        detail: `paused: messages wait in ${subscriptions.join(' and ')} for at most ${approxDuration(retentionSeconds)} (the subscription's retention)`,
      },
    };
  });
  return { operationId, control, subscriptions, retentionSeconds };
}

/** Delivers to `consumer` again: its backlog drains at the consumer's own pace. */
export async function auditedResume(target: PauseTarget, request: PauseRequest): Promise<PauseOutcome> {
  assertAccountable(request, 'a resume');
  assertPausable(request.consumer);
  const { consumer } = request;
  const current = await readControl(target.firestore, consumer.name);
  if (!current?.paused) throw new UserError(`${consumer.name} is not paused`, { hint: 'npm run mesh -- status shows what is paused' });
  const operationId = newOperationId();
  const step = stepsOf({
    operationId,
    operation: 'resume',
    ...whoOf(request),
    selection: { delivery: consumer.delivery, pausedBy: current.operationId, pausedSince: current.since },
  });
  const control = await withAuditSteps(target.audit, step, async () => {
    // What the pause switched to pull gets its push config back (nothing locally, where the relay pushes).
    await restorePush(target.pubsub, current.pushConfigs ?? {});
    const resumed = controlOf(request, operationId, false);
    await writeControl(target.firestore, resumed);
    return { value: resumed, completed: { detail: `resumed after a pause since ${current.since}: the backlog drains at the consumer's pace` } };
  });
  return { operationId, control, subscriptions: subscriptionsOf(consumer), retentionSeconds: subscriptionRetentionSeconds(consumer) };
}

const subscriptionsOf = (consumer: ConsumerSpec) => [consumerResources(consumer).subscription, consumerResources(consumer).redriveSubscription];

const whoOf = (request: PauseRequest) => ({ consumer: request.consumer.name, owner: request.owner!, intent: request.intent!, operator: request.operator });

function controlOf(request: PauseRequest, operationId: string, paused: boolean, pushConfigs: Record<string, SavedPushConfig> = {}): ConsumerControl {
  return {
    ...whoOf(request),
    paused,
    since: new Date().toISOString(),
    operationId,
    ...(Object.keys(pushConfigs).length ? { pushConfigs } : {}),
  };
}

type PushConfigIn = {
  pushEndpoint?: string | null;
  oidcToken?: { serviceAccountEmail?: string | null; audience?: string | null } | null;
  attributes?: Record<string, string> | null;
};

function savedPushConfig(push: PushConfigIn): SavedPushConfig {
  return {
    pushEndpoint: push.pushEndpoint!,
    ...(push.oidcToken?.serviceAccountEmail
      ? { oidcToken: { serviceAccountEmail: push.oidcToken.serviceAccountEmail, audience: push.oidcToken.audience ?? '' } }
      : {}),
    ...(push.attributes && Object.keys(push.attributes).length ? { attributes: { ...push.attributes } } : {}),
  };
}

async function restorePush(pubsub: PubSub, configs: Record<string, SavedPushConfig>): Promise<void> {
  for (const [name, config] of Object.entries(configs)) await pubsub.subscription(name).modifyPushConfig(config);
}
