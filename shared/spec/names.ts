/**
 * Names of everything the spec implies, derived in one place so infra, the local apply, the services
 * and the tools always agree.
 */
import type { ConsumerSpec, MeshSpec } from './types';

export const consumerResources = (consumer: Pick<ConsumerSpec, 'name'>) => ({
  /** The consumer's own subscription on its topic. */
  subscription: consumer.name,
  /** Where Pub/Sub (after max attempts) and the runtime's poison fast path send messages. */
  deadLetterTopic: `${consumer.name}-dlq`,
  /** Keeps dead-lettered messages for triage; without it they would be lost. */
  deadLetterHold: `${consumer.name}-dlq-hold`,
  /** Private topic for replays and redrives that reach only this consumer. */
  redriveTopic: `${consumer.name}-redrive`,
  redriveSubscription: `${consumer.name}-redrive`,
  /**
   * A second subscription on the dead-letter topic, which the warehouse drains into BigQuery's
   * `dead_letters` table: every dead letter is kept there after the hold's retention, and after a
   * redrive or purge took it out of the hold.
   */
  deadLetterArchive: `${consumer.name}-dlq-archive`,
  /**
   * A canary's own subscription on the consumer's topic (shared/canary), filtered to the canary's
   * buckets; it exists only while a canary runs (`mesh canary start` creates it, its end deletes it).
   */
  canarySubscription: `${consumer.name}-canary`,
});

/** The schema resource of a topic. */
export const topicSchemaName = (topic: string) => `${topic}-schema`;

/** Where a service accepts push deliveries for one of its consumers. */
export const pushPath = (consumer: string) => `/pubsub/push/${consumer}`;

/** Longest suffix consumerResources adds, so names stay within Pub/Sub's 255 characters. */
export const LONGEST_SUFFIX = '-dlq-hold'.length;

/**
 * Local only: subscriptions through which the local health monitor sees every message published,
 * every dead letter and every redrive (the emulators keep no metrics). Never created in GCP.
 */
export const localTapNames = {
  topicTap: (topic: string) => `${topic}-mesh-tap`,
  deadLetterTap: (consumer: string) => `${consumer}-dlq-mesh-tap`,
  /** What `mesh dead-letters --redrive` sent back from the hold (it publishes to the redrive topic). */
  redriveTap: (consumer: string) => `${consumer}-redrive-mesh-tap`,
  /**
   * What left a hold other than by redrive (`mesh dead-letters --purge`): the purge announces the
   * hold message ids it acked on this topic, since the emulator cannot say what a hold still holds.
   */
  holdExitsTopic: 'mesh-hold-exits',
  holdExitsTap: 'mesh-hold-exits-mesh-tap',
};

/** What `mesh dead-letters --purge` announces locally on localTapNames.holdExitsTopic (JSON data). */
export interface HoldExitNotice {
  consumer: string;
  /** Hold message ids (= the dead-letter topic's message ids) taken out of the hold. */
  messageIds: string[];
  operationId: string;
}

/** The triage SLA of a consumer's dead letters when the spec names none (4 h, as `deadLetter.triageSla` defaults). */
export const DEFAULT_TRIAGE_SLA_SECONDS = 4 * 3600;
export const triageSlaSeconds = (consumer: Pick<ConsumerSpec, 'deadLetter'>) => consumer.deadLetter.triageSlaSeconds ?? DEFAULT_TRIAGE_SLA_SECONDS;

/**
 * Locally the emulator never writes BigQuery subscriptions, so the warehouse service drains the
 * BigQuery-kind consumers itself (services/warehouse/archive.ts) and reports their acks.
 */
export const LOCAL_ARCHIVE_SERVICE = 'warehouse';

/**
 * The service that drains every consumer's `<c>-dlq-archive` into BigQuery's `dead_letters`, locally
 * and in GCP (services/warehouse/dead-letter-archive.ts). A spec without it keeps dead letters only
 * in the holds.
 */
export const DEAD_LETTER_ARCHIVE_SERVICE = 'warehouse';
export const archivesDeadLetters = (spec: Pick<MeshSpec, 'services'>) => Boolean(spec.services[DEAD_LETTER_ARCHIVE_SERVICE]);

/** The service that acks a consumer's messages when the mesh runs locally. */
export function localServiceOf(consumer: Pick<ConsumerSpec, 'service' | 'delivery'>): string | undefined {
  return consumer.service ?? (consumer.delivery === 'bigquery' ? LOCAL_ARCHIVE_SERVICE : undefined);
}

/**
 * How long a consumer's subscription keeps an unacked message before Pub/Sub drops it: its replay
 * retention when it has one (infra and `mesh up` set it as messageRetentionDuration), else Pub/Sub's
 * default, 7 days ("If this field is not set, message retention is 7 days",
 * https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions). A paused or lagging
 * consumer loses messages past it: the buffer policy warns at BUFFER_WARN_RATIO of it.
 */
export const DEFAULT_SUBSCRIPTION_RETENTION_SECONDS = 7 * 86400;
export const subscriptionRetentionSeconds = (consumer: Pick<ConsumerSpec, 'replay'>) =>
  consumer.replay?.retentionSeconds ?? DEFAULT_SUBSCRIPTION_RETENTION_SECONDS;
/** The share of the retention an oldest unacked message may reach before status warns and GCP alerts. */
export const BUFFER_WARN_RATIO = 0.8;
