/**
 * `mesh apply --local`: makes the emulator match the spec, idempotently. It creates what is
 * missing, updates what Pub/Sub lets us change in place, and refuses (unless `recreate`) to
 * drop a subscription whose immutable settings changed, because that would lose its backlog.
 *
 * The same names and settings as infra/ (shared/spec/names.ts). Differences from GCP, because the
 * emulator cannot do them: no IAM; BigQuery-kind consumers become pull subscriptions drained by the
 * local warehouse (the emulator stores BigQuery subscriptions but never writes them); and tap
 * subscriptions (localTapNames) feed the local health monitor, since the emulator has no metrics.
 */
import type { CreateSubscriptionOptions, PubSub, protos } from '@google-cloud/pubsub';
import { archivesDeadLetters, consumerResources, localTapNames, pushPath, topicSchemaName } from '../spec/names';
import type { ConsumerSpec, MeshSpec, TopicSpec } from '../spec/types';
import { topicSchemas } from '../schemas';
import { UserError } from '../errors';

type SubscriptionMetadata = protos.google.pubsub.v1.ISubscription;

export interface ApplyOptions {
  pubsub: PubSub;
  spec: MeshSpec;
  /** Base URL of each service's push endpoints; default http://127.0.0.1:<localPort>. */
  serviceUrls?: Record<string, string>;
  /** Delete and recreate subscriptions whose immutable settings changed (loses their backlog). */
  recreate?: boolean;
  /**
   * Who pushes to push consumers: 'emulator' (default) gives their subscriptions a push endpoint;
   * 'relay' leaves it off, for the local push relay (push-relay.ts) to pull them and POST instead.
   */
  push?: LocalPush;
}

export type LocalPush = 'emulator' | 'relay';

export type ApplyAction = 'created' | 'updated' | 'unchanged' | 'recreated';

export interface ApplyStep {
  kind: 'schema' | 'schema-revision' | 'topic' | 'subscription';
  name: string;
  action: ApplyAction;
  detail?: string;
}

export class ApplyConflictError extends UserError {
  override readonly name = 'ApplyConflictError';
}

const DEAD_LETTER_HOLD_RETENTION_SECONDS = 7 * 86400;

export async function applyLocal(options: ApplyOptions): Promise<ApplyStep[]> {
  const steps: ApplyStep[] = [];
  const { spec, pubsub } = options;
  for (const topic of Object.values(spec.topics)) steps.push(...(await applyTopic(pubsub, spec, topic)));
  for (const consumer of Object.values(spec.consumers)) steps.push(...(await applyConsumer(options, consumer)));
  // Taps for the local health monitor (shared/health/local.ts): the emulator has no metrics.
  const tap: SubscriptionMetadata = { ackDeadlineSeconds: 60, expirationPolicy: {}, messageRetentionDuration: { seconds: 86400 } };
  // Taps are internal and hold only measurements, so a tap whose topic was deleted is always recreated.
  for (const topic of Object.keys(spec.topics)) steps.push(await ensureSubscription(pubsub, topic, localTapNames.topicTap(topic), tap, true));
  for (const consumer of Object.values(spec.consumers)) {
    steps.push(await ensureSubscription(pubsub, consumerResources(consumer).deadLetterTopic, localTapNames.deadLetterTap(consumer.name), tap, true));
    steps.push(await ensureSubscription(pubsub, consumerResources(consumer).redriveTopic, localTapNames.redriveTap(consumer.name), tap, true));
  }
  // A purge announces what it took out of a hold here (the emulator cannot say what a hold holds).
  const [exitsExist] = await pubsub.topic(localTapNames.holdExitsTopic).exists();
  if (!exitsExist) await pubsub.createTopic(localTapNames.holdExitsTopic);
  steps.push({ kind: 'topic', name: localTapNames.holdExitsTopic, action: exitsExist ? 'unchanged' : 'created' });
  steps.push(await ensureSubscription(pubsub, localTapNames.holdExitsTopic, localTapNames.holdExitsTap, tap, true));
  return steps;
}

async function applyTopic(pubsub: PubSub, spec: MeshSpec, topic: TopicSpec): Promise<ApplyStep[]> {
  const steps: ApplyStep[] = [];
  const revisionIds = await applySchema(pubsub, spec, topic, steps);
  const schemaSettings = {
    schema: `projects/${await pubsub.getClientConfig().then((c) => c.projectId)}/schemas/${topicSchemaName(topic.name)}`,
    encoding: 'JSON' as const,
    firstRevisionId: revisionIds.get(topic.schema.accept.first),
    lastRevisionId: revisionIds.get(topic.schema.accept.last),
  };
  const retention = { seconds: topic.retentionSeconds };
  const handle = pubsub.topic(topic.name);
  const [exists] = await handle.exists();
  if (!exists) {
    await pubsub.createTopic({ name: topic.name, schemaSettings, messageRetentionDuration: retention });
    steps.push({ kind: 'topic', name: topic.name, action: 'created', detail: `accepts ${topic.schema.accept.first}..${topic.schema.accept.last}` });
    return steps;
  }
  const [current] = await handle.getMetadata();
  const same =
    current.schemaSettings?.schema === schemaSettings.schema &&
    current.schemaSettings?.firstRevisionId === schemaSettings.firstRevisionId &&
    current.schemaSettings?.lastRevisionId === schemaSettings.lastRevisionId &&
    Number(current.messageRetentionDuration?.seconds ?? 0) === topic.retentionSeconds;
  if (same) steps.push({ kind: 'topic', name: topic.name, action: 'unchanged' });
  else {
    await handle.setMetadata({ schemaSettings, messageRetentionDuration: retention });
    steps.push({ kind: 'topic', name: topic.name, action: 'updated', detail: 'schema range or retention' });
  }
  return steps;
}

/** Creates the schema and commits each missing revision in order; returns revision name -> id. */
async function applySchema(pubsub: PubSub, spec: MeshSpec, topic: TopicSpec, steps: ApplyStep[]): Promise<Map<string, string>> {
  const schemas = topicSchemas(spec, topic.name);
  const schemaId = topicSchemaName(topic.name);
  const client = await pubsub.getSchemaClient();
  const projectId = (await pubsub.getClientConfig()).projectId;
  const name = `projects/${projectId}/schemas/${schemaId}`;
  let existing: protos.google.pubsub.v1.ISchema[] = [];
  try {
    [existing] = await client.listSchemaRevisions({ name, view: 'FULL' });
  } catch (error) {
    if ((error as { code?: number }).code !== 5) throw error; // 5 = NOT_FOUND
  }
  const canonical = (definition: string | null | undefined) => JSON.stringify(JSON.parse(definition ?? 'null'));
  const byDefinition = new Map(existing.map((r) => [canonical(r.definition), r.revisionId!]));
  const ids = new Map<string, string>();
  let committed = 0;
  for (const revision of schemas.revisions) {
    const known = byDefinition.get(canonical(revision.definition));
    if (known) {
      ids.set(revision.name, known);
      continue;
    }
    const first = existing.length === 0 && committed === 0;
    const [created] = first
      ? await client.createSchema({ parent: `projects/${projectId}`, schemaId, schema: { type: 'AVRO', definition: revision.definition } })
      : await client.commitSchema({ name, schema: { name, type: 'AVRO', definition: revision.definition } });
    ids.set(revision.name, created.revisionId!);
    committed++;
    steps.push({
      kind: first ? 'schema' : 'schema-revision',
      name: `${schemaId}@${revision.name}`,
      action: 'created',
      detail: `revision ${created.revisionId}`,
    });
  }
  if (!committed) steps.push({ kind: 'schema', name: schemaId, action: 'unchanged', detail: `${ids.size} revisions` });
  return ids;
}

async function applyConsumer(options: ApplyOptions, consumer: ConsumerSpec): Promise<ApplyStep[]> {
  const { pubsub, spec } = options;
  const names = consumerResources(consumer);
  const projectId = (await pubsub.getClientConfig()).projectId;
  const steps: ApplyStep[] = [];
  const ensureTopic = async (name: string) => {
    const [exists] = await pubsub.topic(name).exists();
    if (!exists) await pubsub.createTopic(name);
    steps.push({ kind: 'topic', name, action: exists ? 'unchanged' : 'created' });
  };
  await ensureTopic(names.deadLetterTopic);
  await ensureTopic(names.redriveTopic);
  steps.push(
    await ensureSubscription(
      pubsub,
      names.deadLetterTopic,
      names.deadLetterHold,
      {
        ackDeadlineSeconds: 60,
        expirationPolicy: {},
        messageRetentionDuration: { seconds: DEAD_LETTER_HOLD_RETENTION_SECONDS },
      },
      options.recreate,
    ),
  );
  // The warehouse copies every dead letter from here into dead_letters (services/warehouse/dead-letter-archive.ts).
  if (archivesDeadLetters(spec))
    steps.push(
      await ensureSubscription(
        pubsub,
        names.deadLetterTopic,
        names.deadLetterArchive,
        { ackDeadlineSeconds: 60, expirationPolicy: {}, messageRetentionDuration: { seconds: DEAD_LETTER_HOLD_RETENTION_SECONDS } },
        options.recreate,
      ),
    );

  const pushEndpoint =
    consumer.delivery === 'push' && options.push !== 'relay'
      ? `${options.serviceUrls?.[consumer.service!] ?? `http://127.0.0.1:${spec.services[consumer.service!].localPort}`}${pushPath(consumer.name)}`
      : undefined;
  const delivery: SubscriptionMetadata = {
    ackDeadlineSeconds: consumer.ackDeadlineSeconds,
    // Emulator workaround: with a retry policy the emulator stops redelivering a subscription's
    // messages after a burst of failures (verified: push endpoint down for 8 s -> nothing pushed for
    // 150 s; pull client SIGKILLed with 200 leased -> 26 come back in 60 s, all 200 without one).
    // Without a policy it redelivers at once. `pulumi up` applies the spec's policy in GCP.
    retryPolicy: undefined,
    deadLetterPolicy: { deadLetterTopic: `projects/${projectId}/topics/${names.deadLetterTopic}`, maxDeliveryAttempts: consumer.deadLetter.maxAttempts },
    enableExactlyOnceDelivery: consumer.exactlyOnce,
    expirationPolicy: {},
    pushConfig: pushEndpoint ? { pushEndpoint } : {},
  };
  steps.push(
    await ensureSubscription(
      pubsub,
      consumer.topic,
      names.subscription,
      {
        ...delivery,
        enableMessageOrdering: consumer.ordering,
        filter: consumer.filter ?? '',
        retainAckedMessages: Boolean(consumer.replay),
        messageRetentionDuration: consumer.replay ? { seconds: consumer.replay.retentionSeconds } : undefined,
      },
      options.recreate,
    ),
  );
  // Replays and redrives reach only this consumer, through the same endpoint and dead-letter policy.
  steps.push(
    await ensureSubscription(
      pubsub,
      names.redriveTopic,
      names.redriveSubscription,
      { ...delivery, enableMessageOrdering: consumer.ordering },
      options.recreate,
    ),
  );
  return steps;
}

/** Settings Pub/Sub fixes at creation: changing them means a new subscription. */
const IMMUTABLE = ['topic', 'enableMessageOrdering', 'filter'] as const;

async function ensureSubscription(pubsub: PubSub, topic: string, name: string, wanted: SubscriptionMetadata, recreate = false): Promise<ApplyStep> {
  const subscription = pubsub.subscription(name);
  const [exists] = await subscription.exists();
  if (!exists) {
    await pubsub.topic(topic).createSubscription(name, wanted as CreateSubscriptionOptions);
    return { kind: 'subscription', name, action: 'created', detail: describe(wanted) };
  }
  const [current] = await subscription.getMetadata();
  const projectId = (await pubsub.getClientConfig()).projectId;
  const topicPath = `projects/${projectId}/topics/${topic}`;
  const immutableDiff = IMMUTABLE.filter((key) =>
    key === 'topic'
      ? current.topic !== topicPath
      : key === 'filter'
        ? (current.filter ?? '') !== (wanted.filter ?? '')
        : Boolean(current[key]) !== Boolean(wanted[key]),
  );
  if (immutableDiff.length) {
    if (!recreate) {
      throw new ApplyConflictError(
        `subscription ${name}: ${immutableDiff.join(', ')} changed, which Pub/Sub cannot update in place. Re-run with --recreate to delete and recreate it (its backlog is lost), or give the consumer a new name.`,
      );
    }
    await subscription.delete();
    await pubsub.topic(topic).createSubscription(name, wanted as CreateSubscriptionOptions);
    return { kind: 'subscription', name, action: 'recreated', detail: immutableDiff.join(', ') };
  }
  const changes = mutableChanges(current, wanted);
  if (!changes.length) return { kind: 'subscription', name, action: 'unchanged' };
  const update: Record<string, unknown> = {};
  for (const key of changes) update[key] = wanted[key];
  await subscription.setMetadata(update);
  return { kind: 'subscription', name, action: 'updated', detail: changes.join(', ') };
}

const MUTABLE = [
  'ackDeadlineSeconds',
  'retryPolicy',
  'deadLetterPolicy',
  'enableExactlyOnceDelivery',
  'pushConfig',
  'retainAckedMessages',
  'messageRetentionDuration',
] as const;

function mutableChanges(current: SubscriptionMetadata, wanted: SubscriptionMetadata): (typeof MUTABLE)[number][] {
  const seconds = (d: { seconds?: unknown } | null | undefined) => Number(d?.seconds ?? 0);
  return MUTABLE.filter((key) => {
    if (!(key in wanted) || wanted[key] === undefined) return false;
    switch (key) {
      case 'ackDeadlineSeconds':
        return current.ackDeadlineSeconds !== wanted.ackDeadlineSeconds;
      case 'retryPolicy':
        return (
          seconds(current.retryPolicy?.minimumBackoff) !== seconds(wanted.retryPolicy?.minimumBackoff) ||
          seconds(current.retryPolicy?.maximumBackoff) !== seconds(wanted.retryPolicy?.maximumBackoff)
        );
      case 'deadLetterPolicy':
        return (
          current.deadLetterPolicy?.deadLetterTopic !== wanted.deadLetterPolicy?.deadLetterTopic ||
          current.deadLetterPolicy?.maxDeliveryAttempts !== wanted.deadLetterPolicy?.maxDeliveryAttempts
        );
      case 'enableExactlyOnceDelivery':
      case 'retainAckedMessages':
        return Boolean(current[key]) !== Boolean(wanted[key]);
      case 'pushConfig':
        return (current.pushConfig?.pushEndpoint ?? '') !== (wanted.pushConfig?.pushEndpoint ?? '');
      case 'messageRetentionDuration':
        return seconds(current.messageRetentionDuration) !== seconds(wanted.messageRetentionDuration);
    }
  });
}

function describe(s: SubscriptionMetadata): string {
  const parts = [s.pushConfig?.pushEndpoint ? `push ${s.pushConfig.pushEndpoint}` : 'pull'];
  if (s.enableMessageOrdering) parts.push('ordered');
  if (s.enableExactlyOnceDelivery) parts.push('exactly-once');
  if (s.deadLetterPolicy?.maxDeliveryAttempts) parts.push(`dlq after ${s.deadLetterPolicy.maxDeliveryAttempts}`);
  return parts.join(', ');
}
