/**
 * Everything one consumer needs, under the names of consumerResources():
 *   <c>              its subscription on the topic (push, pull or BigQuery)
 *   <c>-dlq          dead-letter topic: Pub/Sub after maxAttempts, and the runtime's poison fast path
 *   <c>-dlq-hold     keeps dead letters for triage (a topic without a subscription drops them)
 *   <c>-dlq-archive  the warehouse copies every dead letter from it into BigQuery's dead_letters, where
 *                    it outlives the hold's retention, a redrive and a purge
 *   <c>-redrive      private topic + subscription with the same delivery as <c>: replays and redrives
 *                    published there reach this consumer and no other
 * and the Pub/Sub agent's grants, without which dead-lettering silently does nothing.
 *
 * Created in two stages around the Cloud Run services (event-mesh.ts):
 *   before: every dead-letter topic + hold and redrive topic, and the subscriptions of pull and BigQuery
 *           consumers, so a service's runtime grants on them exist before its first revision starts;
 *   after:  push subscriptions, whose endpoint is the service and which need its invoker grant.
 * A push consumer paused by `mesh pause` keeps its subscriptions without push config (deliveryOf).
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { archivesDeadLetters, consumerResources, pushPath, toProtoDuration, type ConsumerSpec, type MeshSpec } from '../shared/spec';
import { meshLabels, labelValue, resourceOptions, type MeshContext } from './context';
import { bindGrants, type GrantTargets } from './iam';
import type { MeshService } from './services';
import type { MeshTopic } from './topics';
import { bigquerySubscriptionTable, type MeshWarehouse } from './warehouse';

/**
 * Dead letters wait this long for triage: Pub/Sub's maximum message retention of a subscription,
 * "Maximum value = 31 days" (https://cloud.google.com/pubsub/docs/subscription-properties, Message
 * retention duration). Unacked messages kept beyond a day are billed as storage.
 */
export const DEAD_LETTER_HOLD_RETENTION_SECONDS = 31 * 86400;
const DEAD_LETTER_HOLD_ACK_DEADLINE_SECONDS = 60;
/** Backoff of an archive write BigQuery refused for now (a dead letter is never lost for it: it stays in the hold too). */
export const DEAD_LETTER_ARCHIVE_RETRY = { minimumBackoff: '10s', maximumBackoff: '600s' };

/** What a consumer has before any Cloud Run service exists. */
export interface ConsumerTopics {
  spec: ConsumerSpec;
  deadLetterTopic: gcp.pubsub.Topic;
  deadLetterHold: gcp.pubsub.Subscription;
  /** Undefined when the spec has no warehouse to drain it (archivesDeadLetters). */
  deadLetterArchive?: gcp.pubsub.Subscription;
  redriveTopic: gcp.pubsub.Topic;
}

export interface MeshConsumer extends ConsumerTopics {
  subscription: gcp.pubsub.Subscription;
  redriveSubscription: gcp.pubsub.Subscription;
  /** publisher on <c>-dlq, subscriber on <c> and <c>-redrive, all for the Pub/Sub agent. */
  agentGrants: pulumi.CustomResource[];
}

/** Stage one: what exists before the services (see the file comment). */
export interface EarlyConsumers {
  topics: Record<string, ConsumerTopics>;
  /** Consumers complete already: pull and BigQuery. */
  done: Record<string, MeshConsumer>;
}

export function createConsumersBeforeServices(ctx: MeshContext, topics: Record<string, MeshTopic>, warehouse: MeshWarehouse | undefined): EarlyConsumers {
  const early: EarlyConsumers = { topics: {}, done: {} };
  for (const consumer of Object.values(ctx.spec.consumers)) {
    const plumbing = (early.topics[consumer.name] = createConsumerTopics(ctx, consumer));
    if (consumer.delivery !== 'push')
      early.done[consumer.name] = createSubscriptions(ctx, plumbing, topics[consumer.topic], deliveryOf(ctx, consumer, {}, warehouse));
  }
  return early;
}

/** What a service's runtime grants bind to: the subscriptions and dead-letter topics of stage one. */
export function grantTargetsOf(early: EarlyConsumers): Pick<GrantTargets, 'subscriptions' | 'topics'> {
  const subscriptions: Record<string, gcp.pubsub.Subscription> = {};
  const topics: Record<string, gcp.pubsub.Topic> = {};
  for (const c of Object.values(early.topics)) {
    topics[consumerResources(c.spec).deadLetterTopic] = c.deadLetterTopic;
    if (c.deadLetterArchive) subscriptions[consumerResources(c.spec).deadLetterArchive] = c.deadLetterArchive;
  }
  for (const c of Object.values(early.done)) {
    const names = consumerResources(c.spec);
    subscriptions[names.subscription] = c.subscription;
    subscriptions[names.redriveSubscription] = c.redriveSubscription;
  }
  return { subscriptions, topics };
}

/** Stage two: the push subscriptions. Returns every consumer, in spec order. */
export function createPushConsumers(
  ctx: MeshContext,
  topics: Record<string, MeshTopic>,
  early: EarlyConsumers,
  services: Record<string, MeshService>,
): Record<string, MeshConsumer> {
  const consumers: Record<string, MeshConsumer> = {};
  for (const consumer of Object.values(ctx.spec.consumers)) {
    consumers[consumer.name] =
      early.done[consumer.name] ??
      createSubscriptions(ctx, early.topics[consumer.name], topics[consumer.topic], deliveryOf(ctx, consumer, services, undefined));
  }
  return consumers;
}

/**
 * The push consumers to deploy paused, out of the consumers the project says are paused. A pull
 * consumer's subscription is the same either way (its service stops pulling on the control itself); a
 * BigQuery subscription cannot be paused, and a name the spec lacks is nothing to deploy: both warned
 * about and ignored.
 */
export function pausedPushConsumers(spec: MeshSpec, paused: readonly string[], warn = (message: string) => void pulumi.log.warn(message)): Set<string> {
  const push = new Set<string>();
  for (const name of paused) {
    const consumer = spec.consumers[name];
    if (!consumer) warn(`consumer ${name} is marked paused in the project but is not in the spec: ignored`);
    else if (consumer.delivery === 'bigquery')
      warn(`consumer ${name} is marked paused but is a BigQuery subscription, which cannot be paused: deployed as usual`);
    else if (consumer.delivery === 'push') push.add(name);
  }
  return push;
}

function createConsumerTopics(ctx: MeshContext, consumer: ConsumerSpec): ConsumerTopics {
  const { project } = ctx.config;
  const names = consumerResources(consumer);
  const labels = consumerLabels(consumer);
  const deadLetterTopic = new gcp.pubsub.Topic(
    names.deadLetterTopic,
    { project, name: names.deadLetterTopic, labels: labels('dead-letter') },
    resourceOptions(ctx),
  );
  const deadLetterHold = new gcp.pubsub.Subscription(
    names.deadLetterHold,
    {
      project,
      name: names.deadLetterHold,
      topic: deadLetterTopic.id,
      ackDeadlineSeconds: DEAD_LETTER_HOLD_ACK_DEADLINE_SECONDS,
      messageRetentionDuration: toProtoDuration(DEAD_LETTER_HOLD_RETENTION_SECONDS),
      expirationPolicy: { ttl: '' },
      labels: labels('dead-letter-hold'),
    },
    resourceOptions(ctx, deadLetterTopic),
  );
  // No dead-letter policy: the warehouse writes raw rows, which no message can fail as poison; a
  // refused write is retried with backoff (DEAD_LETTER_ARCHIVE_RETRY) until the warehouse stores it.
  const deadLetterArchive = archivesDeadLetters(ctx.spec)
    ? new gcp.pubsub.Subscription(
        names.deadLetterArchive,
        {
          project,
          name: names.deadLetterArchive,
          topic: deadLetterTopic.id,
          ackDeadlineSeconds: DEAD_LETTER_HOLD_ACK_DEADLINE_SECONDS,
          messageRetentionDuration: toProtoDuration(DEAD_LETTER_HOLD_RETENTION_SECONDS),
          expirationPolicy: { ttl: '' },
          retryPolicy: DEAD_LETTER_ARCHIVE_RETRY,
          labels: labels('dead-letter-archive'),
        },
        resourceOptions(ctx, deadLetterTopic),
      )
    : undefined;
  const redriveTopic = new gcp.pubsub.Topic(names.redriveTopic, { project, name: names.redriveTopic, labels: labels('redrive') }, resourceOptions(ctx));
  return { spec: consumer, deadLetterTopic, deadLetterHold, deadLetterArchive, redriveTopic };
}

/** How a consumer's subscriptions deliver: its own, its redrive copy and a canary's (canaries.ts) alike. */
export function deliverySettings(ctx: MeshContext, consumer: ConsumerSpec, deadLetterTopic: gcp.pubsub.Topic) {
  return {
    project: ctx.config.project,
    ackDeadlineSeconds: consumer.ackDeadlineSeconds,
    retryPolicy: { minimumBackoff: toProtoDuration(consumer.retry.minBackoffSeconds), maximumBackoff: toProtoDuration(consumer.retry.maxBackoffSeconds) },
    deadLetterPolicy: { deadLetterTopic: deadLetterTopic.id, maxDeliveryAttempts: consumer.deadLetter.maxAttempts },
    enableMessageOrdering: consumer.ordering,
    // Exactly-once is a pull-only feature (the spec loader refuses it elsewhere).
    enableExactlyOnceDelivery: consumer.delivery === 'pull' && consumer.exactlyOnce,
    expirationPolicy: { ttl: '' }, // never expire, even when idle for 31 days
  };
}

export const consumerLabels = (consumer: ConsumerSpec) => (role: string) => meshLabels({ 'mesh-consumer': labelValue(consumer.name), 'mesh-role': role });

function createSubscriptions(ctx: MeshContext, plumbing: ConsumerTopics, topic: MeshTopic, delivery: Delivery): MeshConsumer {
  const { spec: consumer, deadLetterTopic, redriveTopic } = plumbing;
  const names = consumerResources(consumer);
  const labels = consumerLabels(consumer);
  // How messages reach the consumer; the redrive subscription uses the very same.
  const common = { ...deliverySettings(ctx, consumer, deadLetterTopic), ...delivery.args };
  const subscription = new gcp.pubsub.Subscription(
    names.subscription,
    {
      ...common,
      name: names.subscription,
      topic: topic.topic.id,
      filter: consumer.filter,
      // Replay: keep acked messages so the consumer can seek back within its window.
      ...(consumer.replay ? { retainAckedMessages: true, messageRetentionDuration: toProtoDuration(consumer.replay.retentionSeconds) } : {}),
      labels: labels('consumer'),
    },
    resourceOptions(ctx, topic.topic, deadLetterTopic, ...delivery.dependsOn),
  );
  const redriveSubscription = new gcp.pubsub.Subscription(
    names.redriveSubscription,
    { ...common, name: names.redriveSubscription, topic: redriveTopic.id, labels: labels('redrive') },
    resourceOptions(ctx, redriveTopic, deadLetterTopic, ...delivery.dependsOn),
  );

  const agentGrants = bindGrants(
    ctx,
    'pubsub-agent',
    ctx.pubsubAgent,
    [
      { role: 'roles/pubsub.publisher', on: { kind: 'topic', name: names.deadLetterTopic }, reason: 'forwards dead letters' },
      { role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.subscription }, reason: 'acks what it dead-letters' },
      { role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.redriveSubscription }, reason: 'acks what it dead-letters' },
    ],
    {
      topics: { [names.deadLetterTopic]: deadLetterTopic },
      subscriptions: { [names.subscription]: subscription, [names.redriveSubscription]: redriveSubscription },
    },
    ...ctx.pubsubAgentReady,
  );
  return { ...plumbing, subscription, redriveSubscription, agentGrants };
}

interface Delivery {
  args: Pick<gcp.pubsub.SubscriptionArgs, 'pushConfig' | 'bigqueryConfig'>;
  dependsOn: pulumi.Resource[];
}

function deliveryOf(ctx: MeshContext, consumer: ConsumerSpec, services: Record<string, MeshService>, warehouse: MeshWarehouse | undefined): Delivery {
  switch (consumer.delivery) {
    case 'pull':
      return { args: {}, dependsOn: [] };
    case 'push': {
      const target = services[consumer.service!];
      if (!target)
        throw new Error(`push consumer ${consumer.name}: service ${consumer.service} does not exist yet (push subscriptions are created after the services)`);
      // Paused (`mesh pause`): no push config, which makes it a pull subscription nobody pulls, the state
      // the pause left ("An empty pushConfig indicates that the Pub/Sub system should stop pushing
      // messages", https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/modifyPushConfig).
      // A deployment must not resume it: only `mesh resume` does, and records who and why.
      const paused = ctx.pausedPush.has(consumer.name);
      return {
        args: paused
          ? {}
          : {
              pushConfig: {
                pushEndpoint: pulumi.interpolate`${target.uri}${pushPath(consumer.name)}`,
                // Cloud Run admits only requests with a token for this audience from an account allowed to invoke it.
                oidcToken: { serviceAccountEmail: target.accounts.push!.email, audience: target.uri },
              },
            },
        // Pushing before the service and its invoker grant exist would only produce failed deliveries.
        dependsOn: [target.service, ...(target.invoker ? [target.invoker] : [])],
      };
    }
    case 'bigquery': {
      if (!warehouse) throw new Error(`consumer ${consumer.name} writes to BigQuery but the mesh has no warehouse`);
      return {
        // No topic or table schema mapping: the payload lands in `data`, with the metadata columns.
        args: { bigqueryConfig: { table: bigquerySubscriptionTable(ctx, consumer.table!), writeMetadata: true } },
        // agentGrants include the other helper's IAM-propagation wait (warehouse.ts).
        dependsOn: [warehouse.tables[consumer.table!], ...warehouse.agentGrants],
      };
    }
  }
}
