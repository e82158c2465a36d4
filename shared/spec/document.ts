/**
 * The shape of mesh.yaml as written by people: zod schemas for the raw document.
 * Cross-field rules (a consumer of an unknown topic, exactly-once on push ...) live in
 * rules.ts; normalisation to the typed MeshSpec lives in load.ts.
 */
import { z } from 'zod';

/** Pub/Sub resource ids: 3..255 chars, start with a letter, never "goog". */
export const RESOURCE_ID = /^(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;
const resourceId = z.string().regex(RESOURCE_ID, 'must be 3..255 characters of letters, digits and ._~+%- starting with a letter, not "goog"');

/** "30s", "10m", "7d", "1h30m" or a number of seconds. */
/** A rate: events per second or per minute. */
export const RATE_PATTERN = /^\d+(\.\d+)?\/(s|m)$/;

export const durationText = z.union([z.number().nonnegative(), z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'must be a duration such as 30s, 10m, 7d')]);

const eventType = z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)*$/, 'must be dotted lowercase, e.g. order.created');
/** Compatibility modes as schema registries name them; NONE checks nothing. */
export const COMPATIBILITY_MODES = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;

export const revisionName = z.string().regex(/^v\d+$/, 'must be v1, v2 ...');

/** An owner's name: what topics and consumers say in `owner`, a key of `owners`. */
export const ownerName = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'must be lowercase letters, digits and -');

/**
 * Where an owner is reached, as Cloud Monitoring notification channels (infra creates the first two;
 * a channel that needs a secret, Slack or PagerDuty, is made once in the console and named here).
 */
export const ownerChannelDocument = z.union([
  z.object({ email: z.string().email('must be an email address') }).strict(),
  z.object({ pubsub: resourceId }).strict(),
  z.object({ channel: z.string().regex(/^projects\/[^/]+\/notificationChannels\/[^/]+$/, 'must be projects/<p>/notificationChannels/<id>') }).strict(),
]);

export const ownerDocument = z
  .object({
    description: z.string().optional(),
    channels: z.array(ownerChannelDocument).min(1, 'an owner needs at least one channel: alerts routed to nobody notify nobody'),
  })
  .strict();

export const topicDocument = z
  .object({
    description: z.string().optional(),
    /** Who answers for the topic's producers and schema: a key of `owners`. */
    owner: ownerName.optional(),
    schema: z
      .object({
        /** Folder holding <revision>.avsc files, relative to the spec file. */
        dir: z.string(),
        /** Every revision kept side by side, oldest first. */
        revisions: z.array(revisionName).min(1).max(20),
        /** The range the topic accepts; defaults to all revisions. `mesh schema retire` moves `first`. */
        accept: z.object({ first: revisionName, last: revisionName }).strict().optional(),
      })
      .strict(),
    /** How each schema revision must resolve with the older ones (shared/governance/compatibility.ts). */
    compatibility: z.enum(COMPATIBILITY_MODES).default('FULL_TRANSITIVE'),
    /** A field marked "deprecated" in one revision may be removed only in a revision accepted this long after. */
    deprecationWindow: durationText.default('30d'),
    /**
     * High-impact topics: a new revision needs a recorded approval (`mesh schema approve`) from one of
     * `approvers`, for revisions numbered `from` and later (default: every revision); `from` may name
     * a revision not written yet, so a policy can start with the next one.
     */
    approval: z
      .object({
        required: z.boolean().default(true),
        approvers: z.array(z.string().min(1)).min(1, 'name at least one approver'),
        from: revisionName.optional(),
      })
      .strict()
      .optional(),
    /** high: the launch checklist (`mesh readiness`) must pass before the policy pack lets it deploy. */
    impact: z.enum(['normal', 'high']).default('normal'),
    eventTypes: z.array(eventType).min(1),
    retention: durationText.default('7d'),
    /** Payload field whose value is the ordering key (e.g. orderId). */
    orderingKey: z.string().min(1).optional(),
    /** How far an event's ce-time may lie before / after its publish time (shared/envelope/time.ts). */
    eventTime: z.object({ maxAge: durationText.optional(), maxAhead: durationText.optional() }).strict().optional(),
  })
  .strict();

export const deliveryKind = z.enum(['push', 'pull', 'bigquery']);

export const consumerDocument = z
  .object({
    description: z.string().optional(),
    /** Who answers for this consumer's alerts and dead letters: a key of `owners`. */
    owner: ownerName.optional(),
    topic: z.string(),
    /** The schema revisions this consumer reads; a revision the topic accepts must be read by every consumer that declares reads. */
    reads: z.array(revisionName).min(1).optional(),
    /** Declared recovery objectives: how long it may be down (rto) and how much it may lose (rpo). */
    recovery: z.object({ rto: durationText, rpo: durationText }).strict().optional(),
    delivery: deliveryKind,
    service: z.string().optional(),
    /** BigQuery-kind consumers only: the table in the warehouse dataset. */
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, 'must be a BigQuery table id')
      .optional(),
    ordering: z.boolean().default(false),
    exactlyOnce: z.boolean().default(false),
    filter: z.string().optional(),
    ackDeadline: durationText.default('30s'),
    retry: z
      .object({ minBackoff: durationText.default('10s'), maxBackoff: durationText.default('600s') })
      .strict()
      .default({ minBackoff: '10s', maxBackoff: '600s' }),
    /** triageSla: how long a dead letter may wait in the hold before its owner is paged (default 4h). */
    deadLetter: z
      .object({ maxAttempts: z.number().int(), triageSla: durationText.default('4h') })
      .strict()
      .default({ maxAttempts: 5, triageSla: '4h' }),
    /**
     * retention: acked messages kept on the subscription this long (Pub/Sub seek).
     * ceiling: the most a `mesh replay` sends this consumer, e.g. 100/s (shared/replay).
     */
    replay: z
      .object({ retention: durationText.optional(), ceiling: z.string().regex(RATE_PATTERN, 'must be a rate such as 100/s or 6000/m').optional() })
      .strict()
      .optional(),
    flowControl: z
      .object({
        maxMessages: z.number().int().positive().default(1000),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(100 * 1024 * 1024),
      })
      .strict()
      .default({ maxMessages: 1000, maxBytes: 100 * 1024 * 1024 }),
    lagSlo: z
      .object({ oldestUnacked: durationText.default('5m'), backlog: z.number().int().positive().default(10000) })
      .strict()
      .default({ oldestUnacked: '5m', backlog: 10000 }),
    /**
     * `mesh canary` aborts a canary of this consumer by itself once the canary handled minEvents and its
     * error rate exceeds the stable side's by errorMargin (percentage points, e.g. 5%).
     */
    canary: z
      .object({
        errorMargin: z
          .string()
          .regex(/^\d+(\.\d+)?%$/, 'must be a percentage such as 5%')
          .optional(),
        minEvents: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What a service may use besides Pub/Sub; each maps to roles in infra/profiles.ts. */
export const SERVICE_DEPENDENCIES = ['firestore', 'bigquery', 'monitoring'] as const;

export const serviceDocument = z
  .object({
    description: z.string().optional(),
    /** Port of the local process when the mesh runs on the emulators. */
    localPort: z.number().int().min(1024).max(65535),
    /** Concurrent requests per Cloud Run instance. */
    concurrency: z.number().int().min(1).max(1000).default(80),
    /** What the service's own code reads or writes besides Pub/Sub: its account gets the roles for these (infra/profiles.ts). */
    uses: z.array(z.enum(SERVICE_DEPENDENCIES)).default([]),
  })
  .strict();

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** How far back each stateful stage can be recovered (RPO); limits are checked in rules.ts. */
export const recoveryDocument = z
  .object({
    firestore: z
      .object({
        /** Firestore point-in-time recovery: any minute of the last 7 days can be read and restored. */
        pointInTimeRecovery: z.boolean().default(true),
        /** Scheduled backups (kept even if the database is deleted); `every: never` turns them off. */
        backups: z
          .object({ every: z.enum(['daily', 'weekly', 'never']), day: z.enum(WEEKDAYS).optional(), retention: durationText.default('14d') })
          .strict()
          .default({ every: 'daily', retention: '14d' }),
      })
      .strict()
      .default({ pointInTimeRecovery: true, backups: { every: 'daily', retention: '14d' } }),
    warehouse: z
      .object({
        /** BigQuery time travel window of the dataset (2d..7d). */
        timeTravel: durationText.default('7d'),
      })
      .strict()
      .default({ timeTravel: '7d' }),
  })
  .strict();

export const RECOVERY_DEFAULTS = {
  firestore: { pointInTimeRecovery: true, backups: { every: 'daily', retention: '14d' } },
  warehouse: { timeTravel: '7d' },
} as const;

/**
 * What pages whom beyond each consumer's lagSlo. `anomalies`: the processor's order anomalies
 * (impossible transitions, sequence gaps ...), counted per topic and kind by a log-based metric; the
 * alert fires when one topic and kind has more than `threshold` of them within `window`.
 */
export const ALERT_DEFAULTS = {
  anomalies: { enabled: true, threshold: 0, window: '5m' },
  parity: { enabled: true, staleAfter: '3h' },
} as const;

export const alertsDocument = z
  .object({
    anomalies: z
      .object({
        enabled: z.boolean().default(ALERT_DEFAULTS.anomalies.enabled),
        threshold: z.number().int().nonnegative().default(ALERT_DEFAULTS.anomalies.threshold),
        window: durationText.default(ALERT_DEFAULTS.anomalies.window),
      })
      .strict()
      .default({ ...ALERT_DEFAULTS.anomalies }),
    /**
     * The scheduled parity run in GCP (infra/parity.ts): fires when a run finds a mismatch in a topic,
     * and when no run has reported for `staleAfter` (the control itself stopped).
     */
    parity: z
      .object({
        enabled: z.boolean().default(ALERT_DEFAULTS.parity.enabled),
        staleAfter: durationText.default(ALERT_DEFAULTS.parity.staleAfter),
      })
      .strict()
      .default({ ...ALERT_DEFAULTS.parity }),
  })
  .strict();

/**
 * Parity as a running control in GCP (docs/parity.md): Cloud Scheduler runs the parity job on
 * `schedule` (unix cron, UTC; "off" = no job), comparing the `window` windows of the last `since`,
 * each judged `settle` after it ended.
 */
export const PARITY_DEFAULTS = { schedule: '0 * * * *', since: '24h', window: '1h', settle: '5m' } as const;

export const parityDocument = z
  .object({
    schedule: z.string().default(PARITY_DEFAULTS.schedule),
    since: durationText.default(PARITY_DEFAULTS.since),
    window: z.enum(['1h', '1m']).default(PARITY_DEFAULTS.window),
    settle: durationText.default(PARITY_DEFAULTS.settle),
  })
  .strict();

export const meshDocument = z
  .object({
    version: z.literal(1),
    /** Project id used on the emulators; in GCP the stack config names the project. */
    project: resourceId,
    /** Owners and how to reach them (alerts of their topics and consumers are routed there). */
    owners: z.record(ownerName, ownerDocument).default({}),
    topics: z.record(resourceId, topicDocument),
    services: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'must be lowercase letters, digits and -'), serviceDocument),
    consumers: z.record(resourceId, consumerDocument),
    warehouse: z
      .object({
        dataset: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, 'must be a BigQuery dataset id'),
        location: z.string().default('US'),
      })
      .strict(),
    local: z
      .object({
        pubsubPort: z.number().int().min(1024).max(65535).default(8085),
        firestorePort: z.number().int().min(1024).max(65535).default(8086),
        bigqueryPort: z.number().int().min(1024).max(65535).default(9050),
        dataDir: z.string().default('.mesh-data'),
        /** How often `npm start` exports the Firestore emulator's data into dataDir (besides on stop); 0 = only on stop. */
        firestoreExportEvery: durationText.default('30s'),
        /** How often `npm start` runs `mesh parity` on the last 30 minute windows and records the result for the dashboard; 0 = never. */
        parityEvery: durationText.default('2m'),
      })
      .strict()
      .default({ pubsubPort: 8085, firestorePort: 8086, bigqueryPort: 9050, dataDir: '.mesh-data', firestoreExportEvery: '30s', parityEvery: '2m' }),
    recovery: recoveryDocument.default({
      firestore: { ...RECOVERY_DEFAULTS.firestore, backups: { ...RECOVERY_DEFAULTS.firestore.backups } },
      warehouse: { ...RECOVERY_DEFAULTS.warehouse },
    }),
    alerts: alertsDocument.default({ anomalies: { ...ALERT_DEFAULTS.anomalies }, parity: { ...ALERT_DEFAULTS.parity } }),
    parity: parityDocument.default({ ...PARITY_DEFAULTS }),
  })
  .strict();

export type MeshDocument = z.infer<typeof meshDocument>;
export type TopicDocument = z.infer<typeof topicDocument>;
export type ConsumerDocument = z.infer<typeof consumerDocument>;
