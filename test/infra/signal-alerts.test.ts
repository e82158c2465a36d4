/**
 * The signal alerts (infra/signal-alerts.ts, infra/schema-dead-letters.ts) under Pulumi's mocks (see
 * harness.ts): publish failures per topic, retries and half the topic's retention per consumer, the
 * log-based metric of schema-failure dead letters and its alert per consumer; each to its owner, with
 * its runbook line. The metric's filter is also run against the lines the real pipeline logs.
 */
import { Writable } from 'node:stream';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, createPipeline, POISON_REASONS, ServiceStats, type DeadLetterSink } from '../../shared/consumer';
import { toPubsubMessage, type IncomingMessage } from '../../shared/envelope';
import { runbookLine, type RunbookKind } from '../../shared/operations/runbooks';
import { MeshPublisher } from '../../shared/publisher';
import { loadSpec } from '../../shared/spec';
import { schemaDeadLetterLogFilter } from '../../infra/schema-dead-letters';
import { SCHEMA_FAILURE_REASONS } from '../../infra/signal-thresholds';
import { fixture, Mesh, PROJECT, REPO, runMesh, T } from './harness';

jest.setTimeout(120_000);

const METRIC = 'gcp:logging/metric:Metric';
const STACK = `projects/${PROJECT}/notificationChannels/42`;
const spec = loadSpec(`${REPO}/mesh.yaml`);
const consumers = Object.values(spec.consumers);
const served = consumers.filter((c) => c.delivery !== 'bigquery');
const sub = (name: string, metric: string) =>
  `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${name}" AND metric.type = "pubsub.googleapis.com/subscription/${metric}"`;
const perMinute = (groupBy: string) => [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: [groupBy] }];

describe('on the repository spec', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:alertChannels': ['42'] });
  });
  const policy = (name: string) => mesh.one(T.alert, name).inputs;
  const expectRouted = (name: string, owner: string, severity: string, runbook: RunbookKind) => {
    const p = policy(name);
    expect(mesh.channelsOf(owner)).toHaveLength(1);
    expect(p).toMatchObject({
      combiner: 'OR',
      severity,
      notificationChannels: [...mesh.channelsOf(owner), STACK],
      documentation: { mimeType: 'text/markdown' },
    });
    expect(p.userLabels['managed-by']).toBe('event-mesh');
    expect((p.documentation.content as string).endsWith(`\n\n${runbookLine(runbook)}`)).toBe(true);
    return p;
  };

  it.each(Object.values(spec.topics))("$name: publish requests that did not succeed, every minute for 5 minutes, to the topic's owner", (t) => {
    const p = expectRouted(`${t.name}-publish-failures`, t.owner!, 'ERROR', 'dead-letters');
    expect(p.displayName).toBe(`Event mesh: ${t.name} publish-failures`);
    expect(p.userLabels['mesh-topic']).toBe(t.name);
    expect(p.conditions).toHaveLength(1);
    expect(p.conditions[0].conditionThreshold).toEqual({
      filter: `resource.type = "pubsub_topic" AND resource.labels.topic_id = "${t.name}" AND metric.type = "pubsub.googleapis.com/topic/send_request_count" AND metric.labels.response_class != "success"`,
      comparison: 'COMPARISON_GT',
      thresholdValue: 0,
      duration: '300s',
      aggregations: perMinute('resource.label.topic_id'),
      trigger: { count: 1 },
    });
    expect(p.documentation.content).toContain('`invalid`');
    expect(p.documentation.content).toContain('publisher.stats()');
  });

  it.each(served.filter((c) => c.delivery === 'pull'))('$name (pull): nacks or expired ack deadlines above 10 a minute for 10 minutes', (c) => {
    const p = expectRouted(`${c.name}-retries`, c.owner!, 'WARNING', 'lag');
    expect(p.userLabels['mesh-consumer']).toBe(c.name);
    const thresholds = p.conditions.map((x: { conditionThreshold: Record<string, unknown> }) => x.conditionThreshold);
    expect(thresholds.map((x: { filter: string }) => x.filter)).toEqual([sub(c.name, 'nack_requests'), sub(c.name, 'expired_ack_deadlines_count')]);
    for (const x of thresholds)
      expect(x).toMatchObject({ comparison: 'COMPARISON_GT', thresholdValue: 10, duration: '600s', aggregations: perMinute('resource.label.subscription_id') });
  });

  it.each(served.filter((c) => c.delivery === 'push'))('$name (push): push requests not acked above 10 a minute for 10 minutes', (c) => {
    const p = expectRouted(`${c.name}-retries`, c.owner!, 'WARNING', 'lag');
    expect(p.conditions).toHaveLength(1);
    expect(p.conditions[0].conditionThreshold).toMatchObject({
      filter: `${sub(c.name, 'push_request_count')} AND metric.labels.response_class != "ack"`,
      thresholdValue: 10,
      duration: '600s',
      aggregations: perMinute('resource.label.subscription_id'),
    });
    expect(p.documentation.content).toContain(`npm run mesh -- pause ${c.name}`);
  });

  it('no retry or schema alert for a BigQuery consumer (Pub/Sub writes its table; nothing of ours logs or nacks)', () => {
    expect(mesh.find(T.alert, 'archive-orders-retries')).toBeUndefined();
    expect(mesh.find(T.alert, 'archive-orders-schema-dead-letters')).toBeUndefined();
  });

  it.each(consumers)('$name: a WARNING once its oldest unacked message passes half of the 7-day topic retention', (c) => {
    const p = expectRouted(`${c.name}-retention-half`, c.owner!, 'WARNING', 'buffer');
    expect(mesh.one(T.topic, c.topic).inputs.messageRetentionDuration).toBe(`${7 * 86400}s`);
    expect(p.conditions).toHaveLength(1);
    expect(p.conditions[0].conditionThreshold).toMatchObject({
      filter: sub(c.name, 'oldest_unacked_message_age'),
      comparison: 'COMPARISON_GT',
      thresholdValue: 3.5 * 86400,
      duration: '0s',
      aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
    });
    expect(p.documentation.content).toContain(`npm run mesh -- replay request --consumer ${c.name}`);
  });

  it('counts schema-failure dead letters in Cloud Logging per consumer and reason', () => {
    const metric = mesh.one(METRIC, 'event-mesh/schema-dead-letters').inputs;
    expect(metric.project).toBe(PROJECT);
    expect(metric.filter).toBe(
      'resource.type = "cloud_run_revision" AND jsonPayload.deadLetterId:* AND jsonPayload.consumer:* AND (jsonPayload.reason = "schema" OR jsonPayload.reason = "unknown-type")',
    );
    expect(metric.metricDescriptor).toMatchObject({ metricKind: 'DELTA', valueType: 'INT64', unit: '1' });
    expect(metric.metricDescriptor.labels.map((l: { key: string; valueType: string }) => `${l.key}:${l.valueType}`)).toEqual([
      'consumer:STRING',
      'reason:STRING',
    ]);
    expect(metric.labelExtractors).toEqual({ consumer: 'EXTRACT(jsonPayload.consumer)', reason: 'EXTRACT(jsonPayload.reason)' });
    expect(mesh.all(T.api).map((a) => a.inputs.service)).toContain('logging.googleapis.com');
  });

  it.each(served)('$name: more than 10 schema dead letters within an hour, after the metric exists', (c) => {
    const p = expectRouted(`${c.name}-schema-dead-letters`, c.owner!, 'ERROR', 'dead-letters');
    expect(p.conditions[0].conditionThreshold).toEqual({
      filter: `resource.type = "cloud_run_revision" AND metric.type = "logging.googleapis.com/user/event-mesh/schema-dead-letters" AND metric.labels.consumer = "${c.name}"`,
      comparison: 'COMPARISON_GT',
      thresholdValue: 10,
      duration: '0s',
      aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.consumer'] }],
      trigger: { count: 1 },
    });
    expect(mesh.dependenciesOf(mesh.one(T.alert, `${c.name}-schema-dead-letters`))).toContain(`${METRIC}::schema-dead-letters-metric`);
    expect(p.documentation.content).toContain(`npm run mesh -- dead-letters ${c.name} --redrive --reason schema`);
  });

  it('the new resources pass every policy of the policy pack', async () => {
    const ours = mesh.resources.filter(
      (r) => r.custom && (r.name === 'schema-dead-letters-metric' || /-(publish-failures|retries|retention-half|schema-dead-letters)$/.test(r.name)),
    );
    expect(ours).toHaveLength(1 + 2 + 6 + 7 + 6);
    expect(await mesh.policyViolations(ours)).toEqual([]);
  });
});

describe('other specs', () => {
  it("half the retention follows the topic's own: 2 days gives 1 day (fixtures/ordered-push.yaml, no owners)", async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture('ordered-push.yaml') });
    const p = mesh.one(T.alert, 'notifier-orders-retention-half').inputs;
    expect(p.conditions[0].conditionThreshold.thresholdValue).toBe(86400);
    expect(p.conditions[0].displayName).toContain("topic orders's 2 d retention");
    // No owner and no stack list: the policy exists, and reaches nobody (the program warns about that).
    expect(p.notificationChannels).toEqual([]);
  });

  it('a mesh with only a BigQuery consumer: publish failures and retention only, no log metric, no Logging API', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture('bigquery.yaml') });
    expect(mesh.find(T.alert, 'analytics-publish-failures')).toBeDefined();
    expect(mesh.find(T.alert, 'archive-analytics-retention-half')).toBeDefined();
    expect(mesh.all(METRIC)).toEqual([]);
    expect(mesh.all(T.api).map((a) => a.inputs.service)).not.toContain('logging.googleapis.com');
  });
});

describe("the metric's filter against the lines the runtime really logs", () => {
  it('counts only schema failures, and only the dead-lettered line (not the failed-publish one)', async () => {
    expect(SCHEMA_FAILURE_REASONS.filter((r) => !(POISON_REASONS as readonly string[]).includes(r))).toEqual([]);
    const consumer = spec.consumers['processor-analytics'];
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    let sinkFails = false;
    const sink: DeadLetterSink = {
      publish: async () => {
        if (sinkFails) throw new Error('pubsub down');
        return 'dl-1';
      },
      flush: async () => undefined,
    };
    const stats = new ServiceStats('processor', [consumer.name]);
    const log = createLogger({ service: 'processor', destination });
    const pipeline = createPipeline({
      spec,
      consumer,
      delivery: 'push',
      handler: async () => 'done',
      deadLetter: sink,
      counters: stats.of(consumer.name),
      log,
    });
    const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });
    const valid = (): IncomingMessage => {
      const out = toPubsubMessage(publisher.prepare('analytics', 'click', { userId: 'u1', page: '/home' }).event);
      return { data: out.data, attributes: out.attributes, messageId: 'm1', publishTime: new Date(), deliveryAttempt: 1 };
    };
    const kinds: Record<string, (m: IncomingMessage) => void> = {
      schema: (m) => (m.data = Buffer.from(JSON.stringify({ userId: 42 }))),
      'unknown-type': (m) => (m.attributes['ce-type'] = 'purchase'),
      'not-json': (m) => (m.data = Buffer.from('nope')),
    };
    for (const [reason, spoil] of Object.entries(kinds)) {
      const m = valid();
      spoil(m);
      expect([reason, await pipeline(m, 'sub')]).toEqual([reason, 'dead-lettered']);
    }
    sinkFails = true;
    const m = valid();
    kinds.schema(m);
    expect(await pipeline(m, 'sub')).toBe('retry');

    // Cloud Run: the line becomes jsonPayload, minus severity (https://cloud.google.com/run/docs/logging).
    const entries = lines.map(({ severity, ...jsonPayload }) => ({ severity, resource: { type: 'cloud_run_revision' }, jsonPayload }));
    const counted = entries.filter((e) => matches(schemaDeadLetterLogFilter(), e)).map((e) => [e.jsonPayload.consumer, e.jsonPayload.reason]);
    expect(counted).toEqual([
      [consumer.name, 'schema'],
      [consumer.name, 'unknown-type'],
    ]);
    // What it relies on besides: these are WARNING lines saying what they are.
    expect(entries.filter((e) => e.jsonPayload.deadLetterId).map((e) => [e.severity, e.jsonPayload.message])).toEqual([
      ['WARNING', 'dead-lettered: schema'],
      ['WARNING', 'dead-lettered: unknown-type'],
      ['WARNING', 'dead-lettered: not-json'],
    ]);
  });
});

/**
 * The Logging query language as far as the metric's filter uses it: clauses joined by AND, a
 * parenthesised OR of clauses, `path:*` (present) and `path = "value"` (equal).
 */
function matches(filter: string, entry: Record<string, unknown>): boolean {
  const at = (path: string) => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), entry);
  const clause = (text: string): boolean => {
    const t = text.trim();
    if (t.startsWith('(') && t.endsWith(')')) return t.slice(1, -1).split(' OR ').some(clause);
    const present = /^([\w.]+):\*$/.exec(t);
    if (present) return at(present[1]) !== undefined;
    const equal = /^([\w.]+) = "([^"]*)"$/.exec(t);
    if (equal) return at(equal[1]) === equal[2];
    throw new Error(`clause not understood: ${t}`);
  };
  return filter.split(' AND ').every(clause);
}
