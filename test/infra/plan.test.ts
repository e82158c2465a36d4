/**
 * `mesh plan`: the offline listing, made by running the real program under Pulumi's mocks (the
 * engine is mocked because it cannot run here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planMesh, shortType, type Plan, type PlanRow } from '../../tools/commands/plan';
import { parityJobGrants } from '../../infra/profiles';
import { loadSpec } from '../../shared/spec';
import { fixture, REPO } from './harness';

jest.setTimeout(60_000);

let plan: Plan;
let stackFile: string;

beforeAll(async () => {
  stackFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-plan-')), 'Pulumi.ci.yaml');
  fs.writeFileSync(
    stackFile,
    [
      'config:',
      '  gcp:project: plan-project',
      '  gcp:region: us-east1',
      '  event-mesh:deletionProtection: false',
      '  event-mesh:images:',
      '    processor: us-docker.pkg.dev/plan-project/x/processor:7',
      '  event-mesh:someToken:',
      '    secure: v1:abcdef',
    ].join('\n'),
  );
  plan = await planMesh({ specFile: path.join(REPO, 'mesh.yaml'), stackFile });
});

const rows = (type: string): PlanRow[] => plan.rows.filter((r) => r.type === type);
const row = (type: string, name: string): PlanRow => {
  const found = rows(type).filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} ${name}, got ${found.length}`);
  return found[0];
};

it('shortens type tokens', () => {
  expect(shortType('gcp:pubsub/subscription:Subscription')).toBe('pubsub.Subscription');
  expect(shortType('docker-build:index:Image')).toBe('docker-build.Image');
});

it('uses the stack file, skipping secrets', () => {
  expect(plan.config['gcp:project']).toBe('plan-project');
  expect(plan.notes).toEqual(['event-mesh:someToken is a secret and was left out']);
});

it('lists every subscription with its key settings', () => {
  // Four per consumer (its own, redrive, dead-letter hold and archive) for the 7 consumers.
  expect(rows('pubsub.Subscription')).toHaveLength(28);
  expect(row('pubsub.Subscription', 'processor-orders').settings).toBe(
    'topic orders; pull; ack 60s; retry 10s..300s; dlq processor-orders-dlq after 10; ordered; exactly-once; retain acked; retention 604800s; never expires',
  );
  expect(row('pubsub.Subscription', 'dashboard-orders').settings).toContain(
    'push https://dashboard-PROJECT_NUMBER.us-east1.run.app/pubsub/push/dashboard-orders (oidc mesh-dashboard-push@plan-project.iam.gserviceaccount.com, aud https://dashboard-PROJECT_NUMBER.us-east1.run.app)',
  );
  expect(row('pubsub.Subscription', 'archive-orders').settings).toContain('bigquery plan-project.event_mesh.raw_orders +metadata');
  expect(row('pubsub.Subscription', 'archive-orders-dlq-hold').settings).toBe('topic archive-orders-dlq; pull; ack 60s; retention 2678400s; never expires');
  expect(row('pubsub.Subscription', 'archive-orders-dlq-archive').settings).toBe(
    'topic archive-orders-dlq; pull; ack 60s; retry 10s..600s; retention 2678400s; never expires',
  );
});

it('lists every IAM binding', () => {
  const iam = plan.rows.filter((r) => /IAMMember|IamMember/.test(r.type));
  expect(iam).toContainEqual({
    type: 'pubsub.TopicIAMMember',
    name: 'processor-orders-dlq',
    settings: 'roles/pubsub.publisher -> serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com',
  });
  expect(iam).toContainEqual({
    type: 'cloudrunv2.ServiceIamMember',
    name: 'service dashboard',
    settings: 'roles/run.invoker -> serviceAccount:mesh-dashboard-push@plan-project.iam.gserviceaccount.com',
  });
  // The warehouse runs no BigQuery job: no jobUser (infra/profiles.ts); the parity job queries.
  expect(iam.filter((r) => r.settings.includes('roles/bigquery.jobUser')).map((r) => r.settings)).toEqual([
    'roles/bigquery.jobUser -> serviceAccount:mesh-parity@plan-project.iam.gserviceaccount.com',
  ]);
  expect(iam).toContainEqual({
    type: 'bigquery.DatasetIamMember',
    name: 'dataset event_mesh',
    settings: 'roles/bigquery.dataEditor -> serviceAccount:mesh-warehouse@plan-project.iam.gserviceaccount.com',
  });
  expect(iam.some((r) => /allUsers|allAuthenticatedUsers/.test(r.settings))).toBe(false);
  // Every IAM row but the Pub/Sub agent's BigQuery grants (warehouse.ts decides those): the earlier
  // 13 + 20 + 3 + 4 + 2 less the warehouse's jobUser plus its datastore.viewer (it reads its pull
  // consumers' controls), plus its subscriber on each of the 7 dead-letter archives, and the parity job's (below).
  const agentBigQuery = (r: PlanRow) => r.type.startsWith('bigquery.') && r.settings.includes('gcp-sa-pubsub');
  const parity = (r: PlanRow) => /mesh-parity(-scheduler)?@/.test(r.settings);
  expect(iam.filter((r) => !agentBigQuery(r) && !parity(r))).toHaveLength(13 + 20 + 3 + 4 + 2 + 7);
  expect(iam.filter((r) => r.settings.startsWith('roles/datastore.viewer')).map((r) => r.settings)).toEqual([
    'roles/datastore.viewer -> serviceAccount:mesh-warehouse@plan-project.iam.gserviceaccount.com',
  ]);
  // The parity job: its grants (profiles.ts parityJobGrants) and the scheduler's run.invoker on the job.
  expect(iam.filter(parity)).toHaveLength(parityJobGrants(loadSpec(path.join(REPO, 'mesh.yaml'))).length + 1);
});

it('lists services, images, tables and alerts with their settings', () => {
  expect(row('cloudrunv2.Service', 'processor').settings).toBe(
    'image us-docker.pkg.dev/plan-project/x/processor:7; runs as mesh-processor@plan-project.iam.gserviceaccount.com; ingress INGRESS_TRAFFIC_INTERNAL_ONLY; concurrency 80; instances 1..10; cpu always allocated; timeout 300s',
  );
  expect(
    rows('docker-build.Image')
      .map((r) => r.name)
      .sort(),
  ).toEqual(['dashboard-image', 'mesh-parity-image', 'warehouse-image']); // processor's image comes from config
  expect(row('bigquery.Table', 'orders_events').settings).toBe('21 columns; partitioned DAY on event_time; clustered by event_type'); // 20 of the event and its payload, then extensions (CloudEvents extension attributes)
  expect(row('monitoring.AlertPolicy', 'Event mesh: processor-orders oldest-unacked').settings).toBe(
    // Its owner's channel (mesh.yaml: commerce, one email); the stack sets no alertChannels.
    'processor-orders oldest_unacked_message_age > 120 for 60s; 1 channels',
  );
  expect(row('firestore.Field', 'dedup.expiresAt').settings).toBe('TTL policy; not indexed');
  expect(row('cloudscheduler.Job', 'mesh-parity').settings).toBe(
    '0 * * * * (Etc/UTC); POST https://run.googleapis.com/v2/projects/plan-project/locations/us-east1/jobs/mesh-parity:run; OAuth as mesh-parity-scheduler@plan-project.iam.gserviceaccount.com',
  );
  expect(row('cloudrunv2.Job', 'mesh-parity').settings).toMatch(/runs as mesh-parity@plan-project\.iam\.gserviceaccount\.com; retries 1; timeout 1800s$/);
  expect(row('monitoring.AlertPolicy', 'Event mesh: sinks disagree (parity)').settings).toBe(
    // The owners of the topics compared (analytics: growth, orders: commerce).
    'custom.googleapis.com/event_mesh/parity_mismatches > 0; or absent for 10800s; 2 channels',
  );
});

it('groups rows by type, APIs first', () => {
  expect(plan.rows[0].type).toBe('projects.Service');
  const order = plan.rows.map((r) => r.type).filter((t, i, all) => all.indexOf(t) === i);
  for (const type of order) {
    const indexes = plan.rows.map((r, i) => (r.type === type ? i : -1)).filter((i) => i >= 0);
    expect(indexes[indexes.length - 1] - indexes[0]).toBe(indexes.length - 1); // contiguous
  }
});

it('fails with the spec loader messages on a bad spec', async () => {
  await expect(planMesh({ specFile: fixture('invalid.yaml'), stackFile })).rejects.toThrow(/exactly-once delivery works only with pull subscriptions/);
});

it('refuses a spec whose topic accepts a revision a consumer is not ready for, naming it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-plan-'));
  const specFile = path.join(dir, 'mesh.yaml');
  const text = fs
    .readFileSync(path.join(REPO, 'mesh.yaml'), 'utf8')
    .replace(/dir: schemas\//g, `dir: ${path.join(REPO, 'schemas')}/`)
    .replace(/(dashboard-orders:\n(?: {4}.*\n)*? {4})reads: \[v1, v2\]/, '$1reads: [v2]');
  fs.writeFileSync(specFile, text);
  await expect(planMesh({ specFile, stackFile })).rejects.toThrow(
    /not planned: 1 consumer readiness issue .*\norders v1: consumer dashboard-orders is not ready: it does not declare v1 in reads \(reads: v2\) \[rule readiness\]/,
  );
});

it('accepts the example stack file Pulumi.dev.yaml as it is', async () => {
  // A second run of the program in this process needs a fresh module registry (see harness.ts).
  jest.resetModules();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fresh = (require('../../tools/commands/plan') as typeof import('../../tools/commands/plan')).planMesh;
  const dev = await fresh({ specFile: path.join(REPO, 'mesh.yaml'), stackFile: path.join(REPO, 'Pulumi.dev.yaml') });
  expect(dev.config['event-mesh:dashboardAccess']).toBe('iam');
  expect(dev.rows.filter((r) => r.type === 'cloudrunv2.Service')).toHaveLength(3);
});
