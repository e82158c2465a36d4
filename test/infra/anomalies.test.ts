/**
 * Order anomalies in GCP (infra/anomalies.ts), under Pulumi's mocks (see harness.ts): the log-based
 * metric over the processor's Cloud Run logs with its topic and kind labels, the alert policy on that
 * metric from spec.alerts.anomalies, and no new role for anyone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRepoSpecWithFreePorts } from '../support/specs';
import { fixture, Mesh, PROJECT, runMesh, T } from './harness';

jest.setTimeout(60_000);

const METRIC = 'gcp:logging/metric:Metric';
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-anomalies-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Prebuilt images: a spec outside the repository cannot be baked into built ones.
const images = Object.fromEntries(['dashboard', 'processor', 'warehouse'].map((s) => [s, `europe-docker.pkg.dev/p/r/${s}:1`]));
const meshWith = async (alerts: Record<string, unknown>) =>
  runMesh({ 'event-mesh:specFile': await writeRepoSpecWithFreePorts(dir, (doc) => (doc.alerts = alerts)), 'event-mesh:images': images });

describe('defaults (mesh.yaml has no alerts section)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:alertChannels': ['42'] });
  });

  it("counts the processor's anomaly log lines per topic and kind", () => {
    const metric = mesh.one(METRIC, 'event-mesh/anomalies').inputs;
    expect(metric.project).toBe(PROJECT);
    expect(metric.filter).toBe('resource.type = "cloud_run_revision" AND resource.labels.service_name = "processor" AND jsonPayload.anomaly.kind:*');
    expect(metric.metricDescriptor).toMatchObject({ metricKind: 'DELTA', valueType: 'INT64', unit: '1' });
    expect(metric.metricDescriptor.labels.map((l: { key: string; valueType: string }) => `${l.key}:${l.valueType}`)).toEqual(['topic:STRING', 'kind:STRING']);
    expect(metric.labelExtractors).toEqual({ topic: 'EXTRACT(jsonPayload.anomaly.topic)', kind: 'EXTRACT(jsonPayload.anomaly.kind)' });
    // The order id stays out of the labels: a time series per order would not scale.
    expect(JSON.stringify(metric)).not.toContain('orderId');
  });

  it('alerts on any anomaly of a topic and kind within 5 minutes, on the metric by its Monitoring type', () => {
    const alert = mesh.one(T.alert, 'anomalies');
    const condition = alert.inputs.conditions[0].conditionThreshold;
    expect(condition.filter).toBe('resource.type = "cloud_run_revision" AND metric.type = "logging.googleapis.com/user/event-mesh/anomalies"');
    expect(condition).toMatchObject({ comparison: 'COMPARISON_GT', thresholdValue: 0, duration: '0s', trigger: { count: 1 } });
    expect(condition.aggregations).toEqual([
      { alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.topic', 'metric.label.kind'] },
    ]);
    expect(alert.inputs).toMatchObject({
      displayName: 'Event mesh: order anomalies',
      severity: 'WARNING',
      // The owners of the topics the processor reads (analytics: growth, orders: commerce), then the stack's list.
      notificationChannels: [...mesh.channelsOf('growth'), ...mesh.channelsOf('commerce'), `projects/${PROJECT}/notificationChannels/42`],
    });
    expect(alert.inputs.conditions[0].displayName).toBe('more than 0 order anomalies of one topic and kind within 5m');
    expect(alert.inputs.documentation.content).toContain('/api/anomalies');
    // Created after the metric (Monitoring must know the metric type first).
    expect(mesh.dependenciesOf(alert)).toContain(`${METRIC}::anomalies-metric`);
  });

  it('needs the Logging API and grants nobody anything for it', () => {
    expect(mesh.all(T.api).map((a) => a.inputs.service)).toContain('logging.googleapis.com');
    const roles = mesh.resources.filter((r) => /iam(member|binding)/i.test(r.type)).map((r) => String(r.inputs.role));
    expect(roles.filter((r) => r.startsWith('roles/logging.'))).toEqual([]);
    expect(mesh.grantsOf(`serviceAccount:mesh-processor@${PROJECT}.iam.gserviceaccount.com`).filter((g) => g.startsWith('roles/pubsub.') === false)).toEqual([
      `roles/datastore.user on project ${PROJECT}`,
    ]);
  });
});

describe('spec.alerts.anomalies', () => {
  it('takes its threshold and window from the spec', async () => {
    const mesh = await meshWith({ anomalies: { threshold: 25, window: '1h' } });
    const condition = mesh.one(T.alert, 'anomalies').inputs.conditions[0];
    expect(condition.conditionThreshold.thresholdValue).toBe(25);
    expect(condition.conditionThreshold.aggregations[0].alignmentPeriod).toBe('3600s');
    expect(condition.displayName).toBe('more than 25 order anomalies of one topic and kind within 1h');
  });

  it('keeps the metric (for charts) but no alert when disabled', async () => {
    const mesh = await meshWith({ anomalies: { enabled: false } });
    // The anomaly metric stays (the schema dead-letter metric, schema-dead-letters.ts, is the other log-based one).
    expect(
      mesh
        .all(METRIC)
        .map((m) => m.inputs.name)
        .sort(),
    ).toEqual(['event-mesh/anomalies', 'event-mesh/schema-dead-letters']);
    expect(mesh.find(T.alert, 'anomalies')).toBeUndefined();
  });

  it('creates neither where no processor logs anomalies', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture('bigquery.yaml') });
    expect(mesh.all(METRIC)).toEqual([]);
    expect(mesh.find(T.alert, 'anomalies')).toBeUndefined();
    expect(mesh.all(T.api).map((a) => a.inputs.service)).not.toContain('logging.googleapis.com');
  });
});
