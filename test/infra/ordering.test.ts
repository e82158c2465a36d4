/**
 * First-run race (issue 16): a Cloud Run service's first revision must not start before its runtime
 * account's grants exist (subscriber on what it pulls and their redrive copies, publisher on its
 * dead-letter topics) nor before what they bind to; push subscriptions come after the service.
 * The program runs under mocks (no Pulumi engine here); the order is read from each resource's
 * dependsOn, followed transitively. IAM propagation after that is the runtime's business (it retries
 * PERMISSION_DENIED pulls; /readyz 503 meanwhile), which mocks cannot show.
 */
import { consumerResources, loadSpec, type MeshSpec } from '../../shared/spec';
import { fixture, Mesh, REPO, runMesh, T } from './harness';

jest.setTimeout(60_000);

const sa = (mesh: Mesh, service: string) => `serviceAccount:${mesh.accountEmail(`mesh-${service}`)}`;

function checkOrder(mesh: Mesh, spec: MeshSpec) {
  const runKeys = mesh.all(T.run).map((r) => Mesh.key(r));
  for (const service of Object.values(spec.services)) {
    const run = mesh.one(T.run, service.name);
    const before = mesh.dependenciesOf(run);
    // Every grant of its runtime account, whatever it is on ...
    const grants = mesh.resources.filter((r) => /iam(member|binding)/i.test(r.type) && r.inputs.member === sa(mesh, service.name));
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) expect({ service: service.name, grant: Mesh.key(grant), before: before.has(Mesh.key(grant)) }).toMatchObject({ before: true });
    // ... and the resources those grants bind to.
    for (const name of service.consumers) {
      const c = spec.consumers[name];
      const names = consumerResources(c);
      const required = [`${T.topic}::${names.deadLetterTopic}`];
      if (c.delivery === 'pull') required.push(`${T.subscription}::${names.subscription}`, `${T.subscription}::${names.redriveSubscription}`);
      for (const key of required) expect({ service: service.name, key, before: before.has(key) }).toMatchObject({ before: true });
    }
  }
  for (const c of Object.values(spec.consumers)) {
    const names = consumerResources(c);
    for (const sub of [names.subscription, names.redriveSubscription].map((n) => mesh.one(T.subscription, n))) {
      const deps = mesh.dependenciesOf(sub);
      if (c.delivery === 'push') {
        // The endpoint is the service, and it must accept the push account's token.
        expect([...deps]).toEqual(expect.arrayContaining([`${T.run}::${c.service}`, `${T.runIam}::${c.service}-push-sa-run-invoker-${c.service}`]));
      } else {
        // Pull and BigQuery subscriptions wait for no service: they come first.
        expect({ sub: sub.name, services: runKeys.filter((k) => deps.has(k)) }).toEqual({ sub: sub.name, services: [] });
      }
    }
  }
  expect(mesh.findCycle()).toBeUndefined();
}

describe('the repository mesh', () => {
  const spec = loadSpec(`${REPO}/mesh.yaml`);
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({});
  });

  it('creates each service after its grants and what they bind to, push subscriptions after the service', () => {
    checkOrder(mesh, spec);
  });

  it('names the processor grants it waits for', () => {
    const deps = mesh.dependenciesOf(mesh.one(T.run, 'processor'));
    expect([...deps]).toEqual(
      expect.arrayContaining([
        `${T.subscriptionIam}::processor-sa-pubsub-subscriber-processor-orders`,
        `${T.subscriptionIam}::processor-sa-pubsub-subscriber-processor-orders-redrive`,
        `${T.topicIam}::processor-sa-pubsub-publisher-processor-orders-dlq`,
        `${T.topicIam}::processor-sa-pubsub-publisher-processor-analytics-dlq`,
        `${T.projectIam}::processor-sa-datastore-user`,
      ]),
    );
    // The processor's push subscription (analytics) is not among them: it follows the service.
    expect(deps.has(`${T.subscription}::processor-analytics`)).toBe(false);
  });
});

describe.each([
  ['pull-exactly-once.yaml', { 'event-mesh:images': { worker: 'europe-docker.pkg.dev/p/r/worker:1' } }],
  ['ordered-push.yaml', {}],
])('fixture %s', (file, config) => {
  it('orders services between their grants and their push subscriptions', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture(file), ...config });
    checkOrder(mesh, loadSpec(fixture(file)));
  });
});
