/**
 * The GCP side of docs/adding-a-consumer.md, under Pulumi's mocks (no Pulumi engine here): the
 * example spec gives the fraud scorer its Cloud Run service, an ordered exactly-once subscription
 * with a dead-letter policy, and an account holding only what its `uses` and consumer need.
 */
import * as path from 'node:path';
import { PROJECT, REPO, runMesh, T, type Mesh } from './harness';

const EXAMPLE_SPEC = path.join(REPO, 'examples/fraud-scorer/mesh.yaml');
const account = `serviceAccount:mesh-fraud-scorer@${PROJECT}.iam.gserviceaccount.com`;

describe('adding the fraud scorer (examples/fraud-scorer/mesh.yaml)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:specFile': EXAMPLE_SPEC });
  }, 60_000);

  it('deploys a fourth Cloud Run service from the same image build', () => {
    expect(mesh.one(T.run, 'fraud-scorer')).toBeDefined();
    expect(mesh.all(T.image).map((i) => i.name)).toEqual(expect.arrayContaining([expect.stringMatching(/fraud-scorer/)]));
  });

  it('gives its consumer ordering, exactly-once and a dead-letter policy', () => {
    const sub = mesh.one(T.subscription, 'fraud-payments').inputs;
    expect(sub).toMatchObject({ enableMessageOrdering: true, enableExactlyOnceDelivery: true });
    expect(sub.deadLetterPolicy).toMatchObject({ maxDeliveryAttempts: 5 });
    expect(String(sub.deadLetterPolicy.deadLetterTopic)).toMatch(/fraud-payments-dlq$/);
  });

  it('grants its account Firestore (its uses) and Pub/Sub on its own consumer only', () => {
    expect(mesh.grantsOf(account).sort()).toEqual(
      [
        `roles/datastore.user on project ${PROJECT}`,
        'roles/pubsub.subscriber on subscription fraud-payments',
        'roles/pubsub.subscriber on subscription fraud-payments-redrive',
        'roles/pubsub.publisher on topic fraud-payments-dlq',
      ].sort(),
    );
  });
});

describe('the fraud scorer under the example stack config (Pulumi.dev.yaml: scaling.default.minInstances 0)', () => {
  it('still runs one instance with CPU always allocated, since it pulls', async () => {
    const mesh = await runMesh({
      'event-mesh:specFile': EXAMPLE_SPEC,
      'event-mesh:scaling': { default: { minInstances: 0, maxInstances: 3 }, processor: { minInstances: 1, maxInstances: 5 } },
    });
    const run = mesh.one(T.run, 'fraud-scorer').inputs;
    expect(run.template.scaling).toMatchObject({ minInstanceCount: 1, maxInstanceCount: 3 });
    expect(run.template.containers[0].resources.cpuIdle).toBe(false);
    // A push-only service still follows `default`.
    expect(mesh.one(T.run, 'dashboard').inputs.template.scaling).toMatchObject({ minInstanceCount: 0 });
  }, 60_000);
});
