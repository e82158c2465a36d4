/** The validated, normalised mesh spec that every part of the product reads. Durations are seconds. */
import type { EventTimeBounds } from '../envelope/time';

export type DeliveryKind = 'push' | 'pull' | 'bigquery';

/** BACKWARD: a new revision reads the older ones' events; FORWARD: the older read the new; FULL: both. TRANSITIVE: against every older revision, not only the previous. */
export type CompatibilityMode = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export interface TopicSpec {
  name: string;
  description?: string;
  owner?: string;
  schema: {
    /** Absolute folder of the .avsc revisions. */
    dir: string;
    /** Revision names, oldest first (v1, v2 ...). */
    revisions: string[];
    /** The revision range the topic accepts. */
    accept: { first: string; last: string };
    compatibility: CompatibilityMode;
    deprecationWindowSeconds: number;
  };
  /** New revisions need a recorded approval from one of `approvers` (from revision `from` on). */
  approval?: { approvers: string[]; from: string };
  impact: 'normal' | 'high';
  eventTypes: string[];
  retentionSeconds: number;
  /** Payload field that gives the ordering key, if the topic is ordered. */
  orderingKeyField?: string;
  /** The ce-time a consumer accepts, around the message's publish time (shared/envelope/time.ts). */
  eventTime: EventTimeBounds;
}

export interface ConsumerSpec {
  name: string;
  description?: string;
  /** A key of MeshSpec.owners: who gets its alerts and triages its dead letters. */
  owner?: string;
  topic: string;
  /** The schema revisions it declares it reads; undefined: not declared (it reads whatever the topic accepts). */
  reads?: string[];
  recovery?: { rtoSeconds: number; rpoSeconds: number };
  delivery: DeliveryKind;
  /** The service that handles it (push and pull kinds). */
  service?: string;
  /** BigQuery-kind consumers: table in the warehouse dataset. */
  table?: string;
  ordering: boolean;
  exactlyOnce: boolean;
  filter?: string;
  ackDeadlineSeconds: number;
  retry: { minBackoffSeconds: number; maxBackoffSeconds: number };
  /** triageSlaSeconds: how long a dead letter may wait in the hold before its owner is paged (default 4 h). */
  deadLetter: { maxAttempts: number; triageSlaSeconds?: number };
  /** Replay window: acked messages are retained this long so the consumer can seek back. */
  replay?: { retentionSeconds: number };
  /** The most a `mesh replay` sends this consumer, per second (spec `replay.ceiling`, default 100/s). */
  replayCeilingPerSecond: number;
  flowControl: { maxMessages: number; maxBytes: number };
  lagSlo: { oldestUnackedSeconds: number; backlog: number };
  /** When a canary of it aborts by itself (shared/canary/judge.ts); absent in hand-built specs: DEFAULT_CANARY_POLICY. */
  canary?: CanaryPolicy;
}

export interface CanaryPolicy {
  /** How much the canary's error rate may exceed the stable side's (0.05 = 5 percentage points). */
  errorMargin: number;
  /** Deliveries the canary handles before it is judged at all. */
  minEvents: number;
}

/** 5 points over at least 50 deliveries: one failure in 50 is 2 %, so a single unlucky event never aborts. */
export const DEFAULT_CANARY_POLICY: CanaryPolicy = { errorMargin: 0.05, minEvents: 50 };

export type ServiceDependency = 'firestore' | 'bigquery' | 'monitoring';

export interface ServiceSpec {
  name: string;
  description?: string;
  localPort: number;
  concurrency: number;
  /** What its code uses besides Pub/Sub (firestore, bigquery, monitoring): the roles its account gets. */
  uses: ServiceDependency[];
  /** Consumers handled by this service, in spec order. */
  consumers: string[];
}

export type Weekday = 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday';

/** How far back each stateful stage can be recovered (its RPO). */
export interface RecoverySpec {
  firestore: {
    /** Point-in-time recovery: reads and restores at any minute of the last 7 days. */
    pointInTimeRecovery: boolean;
    /** Scheduled backups (UTC), or none. */
    backups?: { every: 'daily' | 'weekly'; /** weekly only */ day?: Weekday; retentionSeconds: number };
  };
  /** The BigQuery dataset's time travel window. */
  warehouse: { timeTravelSeconds: number };
}

/** Alerts beyond each consumer's lagSlo (infra/anomalies.ts). */
export interface AlertsSpec {
  /** Order anomalies per topic and kind: fires when one passes `threshold` within `windowSeconds`. */
  anomalies: { enabled: boolean; threshold: number; windowSeconds: number };
  /** The scheduled parity run (infra/parity.ts): a mismatch in a topic, or no run for `staleAfterSeconds`. */
  parity: { enabled: boolean; staleAfterSeconds: number };
}

/** Parity as a running control in GCP (infra/parity.ts, tools/parity/job.ts). */
export interface ParitySpec {
  /** Cloud Scheduler cron (UTC); undefined when the spec says "off": no job is deployed. */
  schedule?: string;
  /** Each run compares the windows of this many seconds back. */
  sinceSeconds: number;
  granularity: 'hour' | 'minute';
  /** A window is judged only this long after it ended. */
  settleSeconds: number;
}

/** A Cloud Monitoring notification channel of an owner. */
export type OwnerChannel = { kind: 'email'; address: string } | { kind: 'pubsub'; topic: string } | { kind: 'existing'; name: string };

export interface OwnerSpec {
  name: string;
  description?: string;
  channels: OwnerChannel[];
}

export interface MeshSpec {
  /** Absolute path of the spec file. */
  file: string;
  project: string;
  /** Owners and how to reach them; topics and consumers name one in `owner`. */
  owners: Record<string, OwnerSpec>;
  topics: Record<string, TopicSpec>;
  consumers: Record<string, ConsumerSpec>;
  services: Record<string, ServiceSpec>;
  warehouse: { dataset: string; location: string };
  local: {
    pubsubPort: number;
    firestorePort: number;
    bigqueryPort: number;
    dataDir: string;
    /** `npm start` exports the Firestore emulator's data this often (and on stop); 0 = only on stop. */
    firestoreExportEverySeconds: number;
    /** `npm start` runs parity this often and records it for the dashboard; 0 = never. */
    parityEverySeconds: number;
  };
  recovery: RecoverySpec;
  alerts: AlertsSpec;
  parity: ParitySpec;
}
