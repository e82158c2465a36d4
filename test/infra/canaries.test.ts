/**
 * Canary deployments from the stack config (infra/canaries.ts, infra/canary-config.ts), under
 * Pulumi's mocks (the engine and GCP cannot run here): a pull consumer's canary and a push
 * consumer's, what they are granted, what the stable side gets, and that a stack without canaries
 * is exactly what it was. Whether the canary code splits correctly runs on the emulators
 * (test/system/canary.test.ts); what GCP itself does with these resources is not tested here.
 */
import { canaryFilter } from '../../shared/canary/routing';
import { failMesh, Mesh, PROJECT, runMesh, schemaGuideViolations, T } from './harness';

jest.setTimeout(120_000);

const IMAGES = Object.fromEntries(['dashboard', 'processor', 'warehouse', 'mesh-parity'].map((s) => [s, `europe-docker.pkg.dev/p/r/${s}:1`]));
const CANARY_IMAGE = 'europe-docker.pkg.dev/p/r/processor:2';
const CANARIES = {
  'processor-orders': { image: CANARY_IMAGE, share: '5%' },
  'dashboard-orders': { image: 'europe-docker.pkg.dev/p/r/dashboard:2', share: '20%' },
};

let baseline: Mesh;
let mesh: Mesh;
beforeAll(async () => {
  baseline = await runMesh({ 'event-mesh:images': IMAGES });
  mesh = await runMesh({ 'event-mesh:images': IMAGES, 'event-mesh:canaries': CANARIES });
});

const env = (service: Mesh['resources'][number]) =>
  Object.fromEntries((service.inputs.template.containers[0].envs as { name: string; value: string }[]).map((e) => [e.name, e.value]));

describe("a pull consumer's canary", () => {
  it("runs the canary image as the canary of that consumer, with the service's own account, always on", () => {
    const canary = mesh.one(T.run, 'processor-orders-canary');
    const stable = mesh.one(T.run, 'processor');
    expect(canary.inputs.template.containers[0].image).toBe(CANARY_IMAGE);
    expect(canary.inputs.template.serviceAccount).toBe(stable.inputs.template.serviceAccount);
    expect(env(canary)).toMatchObject({ MESH_CANARY_OF: 'processor-orders', MESH_CANARIES: 'on', MESH_SERVICE: 'processor' });
    expect(canary.inputs.template.scaling.minInstanceCount).toBeGreaterThanOrEqual(1);
    expect(canary.inputs.template.containers[0].resources.cpuIdle).toBe(false);
    expect(canary.inputs.deletionProtection).toBe(false);
  });

  it("pulls a subscription filtered to its buckets, with the consumer's delivery and dead-letter topic", () => {
    const sub = mesh.one(T.subscription, 'processor-orders-canary').inputs;
    const own = baseline.one(T.subscription, 'processor-orders').inputs;
    expect(sub.filter).toBe(canaryFilter(5));
    expect(sub.pushConfig).toBeUndefined();
    for (const key of ['topic', 'ackDeadlineSeconds', 'retryPolicy', 'deadLetterPolicy', 'enableMessageOrdering', 'expirationPolicy'])
      expect(sub[key]).toEqual(own[key]);
  });

  it('grants the subscription to the service account and the Pub/Sub agent (dead-lettering), and waits for them', () => {
    expect(mesh.subscriptionMembers('processor-orders-canary', 'roles/pubsub.subscriber')).toEqual(
      [mesh.serviceAccountMember('processor'), `serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com`].sort(),
    );
    const waits = mesh.dependenciesOf(mesh.one(T.run, 'processor-orders-canary'));
    expect([...waits].some((k) => k.includes('processor-orders-canary-sa-pubsub-subscriber'))).toBe(true);
  });
});

describe("a push consumer's canary", () => {
  it('is pushed to the canary service with the push account, which may invoke it', () => {
    const sub = mesh.one(T.subscription, 'dashboard-orders-canary').inputs;
    expect(sub.filter).toBe(canaryFilter(20));
    expect(sub.pushConfig.pushEndpoint).toMatch(/^https:\/\/dashboard-orders-canary-\d+\.[a-z0-9-]+\.run\.app\/pubsub\/push\/dashboard-orders$/);
    const canary = mesh.one(T.run, 'dashboard-orders-canary');
    expect(sub.pushConfig.oidcToken.audience).toBe(env(canary).MESH_PUSH_AUDIENCE);
    expect(sub.pushConfig.oidcToken.serviceAccountEmail).toBe(env(canary).MESH_PUSH_SERVICE_ACCOUNT);
    const invokers = mesh.all(T.runIam).filter((r) => r.inputs.name === 'dashboard-orders-canary' || String(r.name).startsWith('dashboard-orders-canary'));
    expect(invokers.map((r) => r.inputs.role)).toContain('roles/run.invoker');
  });
});

describe('the stable side', () => {
  it('follows canaries only where the stack deploys one, and may write its reports', () => {
    expect(env(mesh.one(T.run, 'processor')).MESH_CANARIES).toBe('on');
    expect(env(mesh.one(T.run, 'warehouse')).MESH_CANARIES).toBeUndefined();
    expect(env(baseline.one(T.run, 'processor')).MESH_CANARIES).toBeUndefined();
    // The dashboard does not use Firestore for its own work... if it did, it would hold datastore.user already.
    const dashboard = mesh.grantsOf(mesh.serviceAccountMember('dashboard'));
    expect(dashboard).toContain(`roles/datastore.user on project ${PROJECT}`);
  });

  it('is not granted what giving the messages back needs: the redrive topics stay for replay operators', () => {
    for (const service of ['processor', 'dashboard'])
      expect(mesh.grantsOf(mesh.serviceAccountMember(service)).filter((g) => g.includes('-redrive') && g.includes('publisher'))).toEqual([]);
  });

  it('is what it was without canaries, apart from the canaries themselves', () => {
    const canaryOwn = (r: Mesh['resources'][number]) => JSON.stringify(r).includes('-canary');
    const text = (m: Mesh) =>
      m.resources
        .filter((r) => !canaryOwn(r))
        .map((r) => {
          const inputs =
            r.type === T.run
              ? { ...r.inputs, template: { ...r.inputs.template, containers: [{ ...r.inputs.template.containers[0], envs: undefined }] } }
              : r.inputs;
          return JSON.stringify({ type: r.type, name: r.name, inputs });
        })
        .sort();
    expect(text(mesh)).toEqual(text(baseline));
  });
});

it('passes every policy of the policy pack', async () => {
  expect(await mesh.policyViolations()).toEqual(schemaGuideViolations());
});

it('refuses a canary of an unknown or BigQuery consumer, a share a filter cannot express, a missing image', async () => {
  const error = await failMesh({
    'event-mesh:images': IMAGES,
    'event-mesh:canaries': {
      'no-such-consumer': { image: 'i', share: '5%' },
      'archive-orders': { image: 'i', share: '5%' },
      'processor-orders': { image: '', share: '9%' },
    },
  });
  expect(error.message).toContain('event-mesh:canaries.processor-orders.image must be an image reference');
  expect(error.message).toMatch(/event-mesh:canaries.processor-orders.share: .*9%/);
  const second = await failMesh({
    'event-mesh:images': IMAGES,
    'event-mesh:canaries': { 'no-such-consumer': { image: 'i', share: '5%' }, 'archive-orders': { image: 'i', share: '5%' } },
  });
  expect(second.message).toContain('event-mesh:canaries.no-such-consumer: unknown consumer');
  expect(second.message).toContain('event-mesh:canaries.archive-orders: archive-orders is a BigQuery subscription');
});
