/**
 * Parity as a running control in GCP (issue 18, infra/parity.ts), under mocks (no Pulumi engine or
 * GCP here): Cloud Scheduler starts the parity job through the Cloud Run Admin API with an OAuth token
 * of an account that may run that job only; the job runs as an account that reads the sinks and
 * writes only its results; the metric is declared before the alert that watches it; the spec turns
 * each piece on and off.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parityJobGrants } from '../../infra/profiles';
import { PARITY_METRIC_TYPE } from '../../shared/parity';
import { loadSpec, MeshSpecError } from '../../shared/spec';
import { Mesh, PROJECT, REPO, runMesh, T } from './harness';

jest.setTimeout(60_000);

const JOB = 'gcp:cloudrunv2/job:Job';
const JOB_IAM = 'gcp:cloudrunv2/jobIamMember:JobIamMember';
const SCHEDULER = 'gcp:cloudscheduler/job:Job';
const METRIC = 'gcp:monitoring/metricDescriptor:MetricDescriptor';

/** mesh.yaml with `extra` appended (top-level keys it does not have), schema folders made absolute. */
function specWith(extra: string): string {
  const text = fs.readFileSync(path.join(REPO, 'mesh.yaml'), 'utf8').replace(/dir: schemas\//g, `dir: ${REPO}/schemas/`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parity-spec-')), 'mesh.yaml');
  fs.writeFileSync(file, `${text}\n${extra}\n`);
  return file;
}

describe('the repository spec (hourly parity, alert on)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({});
  });

  it('runs the job from its own image, as its own account, once per execution with one retry', () => {
    const job = mesh.one(JOB, 'mesh-parity');
    const image = mesh.all(T.image).find((i) => i.name === 'mesh-parity-image')!;
    expect(image.inputs.dockerfile.location).toMatch(/tools\/Dockerfile$/);
    expect(image.inputs.buildArgs).toEqual({ MESH_SPEC: '/app/mesh.yaml' });
    expect(job.inputs.location).toBe('us-central1');
    const template = job.inputs.template.template;
    expect(template.serviceAccount).toBe(mesh.accountEmail('mesh-parity'));
    expect(template).toMatchObject({ maxRetries: 1, timeout: '1800s' });
    expect(template.containers[0].envs).toEqual([
      { name: 'GOOGLE_CLOUD_PROJECT', value: PROJECT },
      { name: 'MESH_SPEC', value: '/app/mesh.yaml' },
    ]);
    // Never started before its grants exist.
    const grants = mesh.resources.filter((r) => /iam/i.test(r.type) && r.inputs.member === `serviceAccount:${mesh.accountEmail('mesh-parity')}`);
    expect(grants.length).toBeGreaterThan(0);
    for (const g of grants) expect(job.dependsOn).toContain(Mesh.key(g));
  });

  it("gives the job's account read on the sinks and write on its own results only", () => {
    const spec = loadSpec(path.join(REPO, 'mesh.yaml'));
    const granted = mesh.grantsOf(`serviceAccount:${mesh.accountEmail('mesh-parity')}`);
    expect(granted).toHaveLength(parityJobGrants(spec).length);
    expect(granted).toEqual(
      expect.arrayContaining([
        `roles/bigquery.dataViewer on dataset ${spec.warehouse.dataset}`,
        `roles/bigquery.dataEditor on table ${spec.warehouse.dataset}.parity_results`,
        `roles/bigquery.jobUser on project ${PROJECT}`,
        `roles/datastore.user on project ${PROJECT}`,
        `roles/monitoring.viewer on project ${PROJECT}`,
        `roles/monitoring.metricWriter on project ${PROJECT}`,
      ]),
    );
    // Pub/Sub: only the dead-letter holds of the compared consumers, never a live subscription or topic.
    const pubsub = granted.filter((g) => g.startsWith('roles/pubsub'));
    expect(pubsub.length).toBeGreaterThan(0);
    for (const g of pubsub) expect(g).toMatch(/^roles\/pubsub\.subscriber on subscription .+-dlq-hold$/);
    expect(pubsub).toContain('roles/pubsub.subscriber on subscription dashboard-orders-dlq-hold');
    // No write on the warehouse's own tables.
    expect(granted.filter((g) => /dataEditor|dataOwner|admin/.test(g) && !g.includes('parity_results'))).toEqual([]);
  });

  it('schedules it with Cloud Scheduler: POST to jobs.run with an OAuth token of an account that may run this job only', () => {
    const scheduler = mesh.one(SCHEDULER, 'mesh-parity');
    const email = mesh.accountEmail('mesh-parity-scheduler');
    expect(scheduler.inputs).toMatchObject({ schedule: '0 * * * *', timeZone: 'Etc/UTC', region: 'us-central1', retryConfig: { retryCount: 0 } });
    expect(scheduler.inputs.httpTarget).toEqual({
      httpMethod: 'POST',
      uri: `https://run.googleapis.com/v2/projects/${PROJECT}/locations/us-central1/jobs/mesh-parity:run`,
      // OAuth, not OIDC: the target is a Google API (https://cloud.google.com/scheduler/docs/http-target-auth).
      oauthToken: { serviceAccountEmail: email, scope: 'https://www.googleapis.com/auth/cloud-platform' },
    });
    expect(mesh.grantsOf(`serviceAccount:${email}`)).toEqual(['roles/run.invoker on run mesh-parity']);
    const invoker = mesh.all(JOB_IAM)[0];
    expect(scheduler.dependsOn).toContain(Mesh.key(invoker));
    expect(mesh.one(T.api, 'api-cloudscheduler')).toBeDefined();
  });

  it('declares the metric, and alerts on a mismatch per topic and on no result for staleAfter', () => {
    const metric = mesh.one(METRIC, 'parity-metric');
    expect(metric.inputs).toMatchObject({ type: PARITY_METRIC_TYPE, metricKind: 'GAUGE', valueType: 'INT64' });
    expect(metric.inputs.labels.map((l: { key: string }) => l.key)).toEqual(['topic']);
    const alert = mesh.all(T.alert).find((a) => a.name === 'parity')!;
    expect(alert.dependsOn).toContain(Mesh.key(metric));
    const [mismatch, stale] = alert.inputs.conditions;
    expect(mismatch.conditionThreshold).toMatchObject({
      filter: `metric.type = "${PARITY_METRIC_TYPE}" AND resource.type = "global"`,
      comparison: 'COMPARISON_GT',
      thresholdValue: 0,
      evaluationMissingData: 'EVALUATION_MISSING_DATA_NO_OP',
    });
    expect(mismatch.conditionThreshold.aggregations[0].groupByFields).toEqual(['metric.label.topic']);
    expect(stale.conditionAbsent).toMatchObject({ filter: mismatch.conditionThreshold.filter, duration: '10800s' });
    expect(alert.inputs.documentation.content).toMatch(/parity_results/);
  });
});

describe('what the spec and stack config change', () => {
  it('parity.schedule off: no job, schedule, accounts, image or Scheduler API; the results table stays', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': specWith('parity: { schedule: "off" }') });
    expect(mesh.all(JOB)).toEqual([]);
    expect(mesh.all(SCHEDULER)).toEqual([]);
    expect(mesh.all(METRIC)).toEqual([]);
    expect(mesh.find(T.account, 'mesh-parity')).toBeUndefined();
    expect(mesh.all(T.image).map((i) => i.name)).not.toContain('mesh-parity-image');
    expect(mesh.find(T.api, 'api-cloudscheduler')).toBeUndefined();
    expect(mesh.one(T.table, 'parity_results')).toBeDefined();
  });

  it('a schedule, window and staleAfter of its own, a prebuilt image, and the alert off', async () => {
    const mesh = await runMesh({
      'event-mesh:specFile': specWith('parity: { schedule: "*/15 * * * *", since: 2h, window: 1m }'),
      'event-mesh:images': { 'mesh-parity': 'europe-docker.pkg.dev/p/r/parity:9' },
    });
    expect(mesh.one(SCHEDULER, 'mesh-parity').inputs.schedule).toBe('*/15 * * * *');
    expect(mesh.one(JOB, 'mesh-parity').inputs.template.template.containers[0].image).toBe('europe-docker.pkg.dev/p/r/parity:9');
    expect(mesh.all(T.image).map((i) => i.name)).not.toContain('mesh-parity-image');

    const quiet = await runMesh({ 'event-mesh:specFile': specWith('parity: { schedule: "0 */2 * * *" }') });
    expect(quiet.all(T.alert).find((a) => a.name === 'parity')).toBeDefined();
    const off = await runMesh({ 'event-mesh:specFile': specWith('alerts: { parity: { enabled: false } }') });
    expect(off.all(T.alert).find((a) => a.name === 'parity')).toBeUndefined();
    expect(off.all(METRIC)).toHaveLength(1);
  });

  it('refuses a schedule that is not cron, a range shorter than two windows and a staleAfter the alert cannot take', () => {
    const problems = (extra: string) => {
      try {
        loadSpec(specWith(extra));
        return '';
      } catch (error) {
        expect(error).toBeInstanceOf(MeshSpecError);
        return (error as Error).message;
      }
    };
    expect(problems('parity: { schedule: "hourly" }')).toMatch(/parity\.schedule.*unix cron of five fields/s);
    expect(problems('parity: { since: 90m }')).toMatch(/parity\.since.*at least two windows/s);
    expect(problems('parity: { since: 90s, window: 1m }')).toMatch(/parity\.since/);
    expect(problems('alerts: { parity: { staleAfter: 90s } }')).toMatch(/alerts\.parity\.staleAfter.*whole minutes from 2m to 1d/s);
    expect(problems('parity: { since: 2h, window: 1m, schedule: "*/5 * * * *" }\nalerts: { parity: { staleAfter: 20m } }')).toBe('');
  });
});
