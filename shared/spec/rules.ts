/**
 * Rules that span several parts of the spec, checked after the document has the right shape.
 * Each returns the path of the offending value so the loader can point at its line.
 */
import { SchemaDefinitionError, TopicSchemas } from '../schemas/topic-schemas';
import { LONGEST_SUFFIX } from './names';
import type { MeshSpec } from './types';

export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Pub/Sub limits (see docs): 10..600 s ack deadline, 0..600 s backoff, 5..100 attempts, 256-byte filters.
 * Subscription retention: "Minimum value = 10 minutes, Maximum value = 31 days"
 * (https://cloud.google.com/pubsub/docs/subscription-properties#message_retention_duration).
 * Firestore backups: retention "up to 14 weeks"
 * (https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.backupSchedules).
 * BigQuery time travel: 2 to 7 days, in whole days (https://cloud.google.com/bigquery/docs/time-travel).
 * Anomaly alert window: the condition's alignment period; Cloud Monitoring aligns in whole minutes
 * from 60 s, and a day is as long a look-back as this alert needs.
 */
export const LIMITS = {
  ackDeadlineSeconds: [10, 600],
  backoffSeconds: [0, 600],
  maxDeliveryAttempts: [5, 100],
  filterBytes: 256,
  topicRetentionSeconds: [600, 31 * 86400],
  subscriptionRetentionSeconds: [600, 31 * 86400],
  firestoreBackupRetentionSeconds: [86400, 14 * 7 * 86400],
  timeTravelSeconds: [2 * 86400, 7 * 86400],
  anomalyAlertWindowSeconds: [60, 86400],
  /**
   * How long without a parity result before the stale condition fires: a metric-absence condition's
   * duration, at least 120 s and in whole minutes (AlertPolicy.Condition.MetricAbsence.duration,
   * https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies); a day is our cap.
   */
  parityStaleSeconds: [120, 86400],
  /** A parity run compares at most a month: the dedup views are read in full for that range. */
  paritySinceSeconds: [120, 31 * 86400],
  /** Our cap on a replay ceiling: past what any one consumer here takes, a typo rather than a plan. */
  replayCeilingPerSecond: 10_000,
} as const;

/** Unix cron as Cloud Scheduler takes it: five fields (minute hour day-of-month month day-of-week). */
export const CRON_PATTERN = /^(\S+\s+){4}\S+$/;
const CRON_FIELD = /^[0-9A-Za-z*/,-]+$/;

export function checkRules(spec: MeshSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  const inRange = (value: number, [min, max]: readonly [number, number]) => value >= min && value <= max;

  for (const topic of Object.values(spec.topics)) {
    const at = ['topics', topic.name];
    if (new Set(topic.eventTypes).size !== topic.eventTypes.length) add([...at, 'eventTypes'], 'event types must be unique');
    if (!inRange(topic.retentionSeconds, LIMITS.topicRetentionSeconds)) add([...at, 'retention'], 'must be between 10m and 31d');
    let schemas: TopicSchemas | undefined;
    try {
      schemas = TopicSchemas.load(topic);
    } catch (error) {
      if (!(error instanceof SchemaDefinitionError)) throw error;
      const index = error.revision ? topic.schema.revisions.indexOf(error.revision) : -1;
      add(index >= 0 ? [...at, 'schema', 'revisions', index] : [...at, 'schema'], error.message);
    }
    if (schemas && topic.orderingKeyField) {
      const wrong = schemas.accepted.flatMap((revision) => {
        const field = (revision.type as unknown as { fields: { name: string; type: { typeName: string } }[] }).fields.find(
          (f) => f.name === topic.orderingKeyField,
        );
        return field?.type.typeName === 'string' ? [] : [`${revision.name} has ${field ? field.type.typeName : 'no such field'}`];
      });
      if (wrong.length) add([...at, 'orderingKey'], `"${topic.orderingKeyField}" must be a string field in every accepted revision (${wrong.join(', ')})`);
    }
  }

  const ports = new Map<number, string>();
  const notePort = (port: number, owner: string, path: (string | number)[]) => {
    const taken = ports.get(port);
    if (taken) add(path, `port ${port} is already used by ${taken}`);
    else ports.set(port, owner);
  };
  notePort(spec.local.pubsubPort, 'local.pubsubPort', ['local', 'pubsubPort']);
  notePort(spec.local.firestorePort, 'local.firestorePort', ['local', 'firestorePort']);
  notePort(spec.local.bigqueryPort, 'local.bigqueryPort', ['local', 'bigqueryPort']);
  for (const service of Object.values(spec.services)) notePort(service.localPort, `services.${service.name}`, ['services', service.name, 'localPort']);

  const names = new Set(Object.keys(spec.topics));
  for (const c of Object.values(spec.consumers)) {
    const at = ['consumers', c.name];
    const topic = spec.topics[c.topic];
    if (!topic) add([...at, 'topic'], `unknown topic "${c.topic}" (topics: ${Object.keys(spec.topics).join(', ')})`);
    if (names.has(c.name)) add(at, `name "${c.name}" is already used by a topic`);
    for (const [i, revision] of (c.reads ?? []).entries()) {
      if (topic && !topic.schema.revisions.includes(revision))
        add([...at, 'reads', i], `topic "${c.topic}" has no revision ${revision} (revisions: ${topic.schema.revisions.join(', ')})`);
    }
    if (c.name.length + LONGEST_SUFFIX > 255) add(at, 'name is too long for its derived dead-letter names');
    if (c.delivery === 'bigquery') {
      if (!c.table) add(at, 'a bigquery consumer needs "table"');
      if (c.service) add([...at, 'service'], 'a bigquery consumer is written by Pub/Sub itself and has no service');
    } else {
      if (!c.service) add(at, `a ${c.delivery} consumer needs "service"`);
      else if (!spec.services[c.service]) add([...at, 'service'], `unknown service "${c.service}" (services: ${Object.keys(spec.services).join(', ')})`);
      if (c.table) add([...at, 'table'], 'only bigquery consumers have a table');
    }
    if (c.exactlyOnce && c.delivery !== 'pull') add([...at, 'exactlyOnce'], `exactly-once delivery works only with pull subscriptions, not ${c.delivery}`);
    if (c.ordering && topic && !topic.orderingKeyField) add([...at, 'ordering'], `topic "${c.topic}" has no orderingKey, so ordering would have no effect`);
    if (c.filter !== undefined && Buffer.byteLength(c.filter) > LIMITS.filterBytes)
      add([...at, 'filter'], `filter is ${Buffer.byteLength(c.filter)} bytes; Pub/Sub allows at most ${LIMITS.filterBytes}`);
    if (!inRange(c.ackDeadlineSeconds, LIMITS.ackDeadlineSeconds)) add([...at, 'ackDeadline'], 'must be between 10s and 600s');
    if (!inRange(c.retry.minBackoffSeconds, LIMITS.backoffSeconds)) add([...at, 'retry', 'minBackoff'], 'must be between 0s and 600s');
    if (!inRange(c.retry.maxBackoffSeconds, LIMITS.backoffSeconds)) add([...at, 'retry', 'maxBackoff'], 'must be between 0s and 600s');
    if (c.retry.minBackoffSeconds > c.retry.maxBackoffSeconds) add([...at, 'retry'], 'minBackoff must not exceed maxBackoff');
    if (!inRange(c.deadLetter.maxAttempts, LIMITS.maxDeliveryAttempts))
      add(
        [...at, 'deadLetter', 'maxAttempts'],
        `must be between ${LIMITS.maxDeliveryAttempts[0]} and ${LIMITS.maxDeliveryAttempts[1]}, got ${c.deadLetter.maxAttempts}`,
      );
    if (!(c.replayCeilingPerSecond > 0) || c.replayCeilingPerSecond > LIMITS.replayCeilingPerSecond)
      add([...at, 'replay', 'ceiling'], `must be more than 0 and at most ${LIMITS.replayCeilingPerSecond}/s`);
    if (c.replay) {
      if (!inRange(c.replay.retentionSeconds, LIMITS.subscriptionRetentionSeconds)) add([...at, 'replay', 'retention'], 'must be between 10m and 31d');
      else if (topic && c.replay.retentionSeconds > topic.retentionSeconds)
        add([...at, 'replay', 'retention'], `replay window is longer than topic "${c.topic}" retains messages`);
    }
  }
  issues.push(...recoveryIssues(spec));
  const window = spec.alerts.anomalies.windowSeconds;
  const [minWindow, maxWindow] = LIMITS.anomalyAlertWindowSeconds;
  if (window < minWindow || window > maxWindow || window % 60 !== 0)
    add(['alerts', 'anomalies', 'window'], "must be whole minutes from 1m to 1d (the alert condition's alignment period)");
  issues.push(...parityIssues(spec));
  return issues;
}

function parityIssues(spec: MeshSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const { schedule, sinceSeconds, granularity } = spec.parity;
  if (schedule !== undefined && (!CRON_PATTERN.test(schedule) || !schedule.split(/\s+/).every((f) => CRON_FIELD.test(f))))
    issues.push({ path: ['parity', 'schedule'], message: `must be a unix cron of five fields such as "0 * * * *" (hourly), or "off"; got "${schedule}"` });
  const windowSeconds = granularity === 'hour' ? 3600 : 60;
  const [minSince, maxSince] = LIMITS.paritySinceSeconds;
  if (sinceSeconds < Math.max(minSince, 2 * windowSeconds) || sinceSeconds > maxSince)
    issues.push({
      path: ['parity', 'since'],
      message: `must be at least two windows (${granularity === 'hour' ? '2h' : '2m'}; a window still pending in one run is judged by the next) and at most 31d`,
    });
  const stale = spec.alerts.parity.staleAfterSeconds;
  const [minStale, maxStale] = LIMITS.parityStaleSeconds;
  if (stale < minStale || stale > maxStale || stale % 60 !== 0)
    issues.push({ path: ['alerts', 'parity', 'staleAfter'], message: "must be whole minutes from 2m to 1d (the metric-absence condition's duration)" });
  return issues;
}

function recoveryIssues(spec: MeshSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const { backups } = spec.recovery.firestore;
  const at = ['recovery', 'firestore', 'backups'];
  if (backups) {
    const [min, max] = LIMITS.firestoreBackupRetentionSeconds;
    if (backups.retentionSeconds < min || backups.retentionSeconds > max)
      issues.push({ path: [...at, 'retention'], message: 'must be between 1d and 98d (Firestore keeps backups at most 14 weeks)' });
    if (backups.every === 'daily' && backups.day) issues.push({ path: [...at, 'day'], message: 'only weekly backups run on a given day' });
  }
  const travel = spec.recovery.warehouse.timeTravelSeconds;
  const [min, max] = LIMITS.timeTravelSeconds;
  if (travel < min || travel > max || travel % 86400 !== 0)
    issues.push({ path: ['recovery', 'warehouse', 'timeTravel'], message: 'must be whole days from 2d to 7d (BigQuery time travel window)' });
  return issues;
}
