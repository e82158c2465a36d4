/**
 * The program on small specs (test/infra/fixtures/) and unusual stack config, under mocks (the
 * Pulumi engine is mocked because it cannot run here; see harness.ts).
 */
import { agentMember, failMesh, fixture, Mesh, PROJECT, runMesh, T } from './harness';

jest.setTimeout(60_000);

const sa = (name: string) => `serviceAccount:${name}@${PROJECT}.iam.gserviceaccount.com`;

describe('one pull consumer with exactly-once (service without a profile, prebuilt image)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({
      'event-mesh:specFile': fixture('pull-exactly-once.yaml'),
      'event-mesh:images': { worker: 'europe-docker.pkg.dev/p/r/worker:1.2.3' },
    });
  });

  it('creates an exactly-once pull subscription with the spec settings', () => {
    expect(mesh.one(T.subscription, 'worker-orders').inputs).toMatchObject({
      enableExactlyOnceDelivery: true,
      enableMessageOrdering: false,
      ackDeadlineSeconds: 90,
      retryPolicy: { minimumBackoff: '15s', maximumBackoff: '240s' },
      deadLetterPolicy: { deadLetterTopic: `projects/${PROJECT}/topics/worker-orders-dlq`, maxDeliveryAttempts: 7 },
      retainAckedMessages: true,
      messageRetentionDuration: '259200s',
    });
    expect(mesh.one(T.subscription, 'worker-orders').inputs.pushConfig).toBeUndefined();
    expect(mesh.one(T.subscription, 'worker-orders-redrive').inputs).toMatchObject({
      enableExactlyOnceDelivery: true,
      topic: `projects/${PROJECT}/topics/worker-orders-redrive`,
    });
    expect(mesh.one(T.subscription, 'worker-orders-dlq-hold').inputs.topic).toBe(`projects/${PROJECT}/topics/worker-orders-dlq`);
  });

  it('needs no push account, invoker or BigQuery agent grants', () => {
    expect(mesh.all(T.account).map((a) => a.inputs.accountId)).toEqual(['mesh-worker']);
    expect(mesh.all(T.runIam)).toEqual([]);
    expect(mesh.all(T.accountIam)).toEqual([]);
    expect(mesh.grantsOf(agentMember()).sort()).toEqual(
      [
        'roles/pubsub.publisher on topic worker-orders-dlq',
        'roles/pubsub.subscriber on subscription worker-orders',
        'roles/pubsub.subscriber on subscription worker-orders-redrive',
      ].sort(),
    );
  });

  it('grants the unknown service only what its consumers need', () => {
    expect(mesh.grantsOf(sa('mesh-worker'))).toEqual(
      [
        `roles/datastore.viewer on project ${PROJECT}`, // reads its pull consumer's control (paused or not)
        'roles/pubsub.publisher on topic worker-orders-dlq',
        'roles/pubsub.subscriber on subscription worker-orders',
        'roles/pubsub.subscriber on subscription worker-orders-redrive',
      ].sort(),
    );
  });

  it('runs the configured image with CPU always allocated and one warm instance', () => {
    const run = mesh.one(T.run, 'worker').inputs;
    expect(run.template.containers[0].image).toBe('europe-docker.pkg.dev/p/r/worker:1.2.3');
    expect(run.template.containers[0].resources.cpuIdle).toBe(false);
    expect(run.template.scaling).toEqual({ minInstanceCount: 1, maxInstanceCount: 10 });
    expect(run.template.maxInstanceRequestConcurrency).toBe(20);
    expect(run.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(run.customAudiences).toBeUndefined();
    // Nothing to build: no image, no registry, no Artifact Registry API.
    expect(mesh.all(T.image)).toEqual([]);
    expect(mesh.all(T.registry)).toEqual([]);
    expect(mesh.all(T.api).map((a) => a.inputs.service)).not.toContain('artifactregistry.googleapis.com');
  });

  it('uses the spec warehouse and protects data by default', () => {
    expect(mesh.one(T.dataset, 'warehouse').inputs).toMatchObject({ datasetId: 'fixture_pull', location: 'EU', deleteContentsOnDestroy: false });
    for (const table of mesh.all(T.table)) expect(table.inputs.deletionProtection).toBe(true);
    expect(mesh.one(T.run, 'worker').inputs.deletionProtection).toBe(true);
    expect(mesh.one(T.firestore, '(default)').inputs).toMatchObject({ deletionPolicy: 'ABANDON', deleteProtectionState: 'DELETE_PROTECTION_ENABLED' });
    expect(
      mesh
        .all(T.table)
        .map((t) => t.inputs.tableId)
        .sort(),
    ).toEqual(['dead_letters', 'operations_audit', 'orders_events', 'orders_events_dedup', 'parity_results', 'replay_audit']);
  });
});

describe('one ordered push consumer with a filter', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:specFile': fixture('ordered-push.yaml'), 'gcp:region': 'asia-east1', 'event-mesh:ingress': { notifier: 'all' } });
  });

  it('orders delivery on the subscription and its redrive, filters only the subscription', () => {
    const sub = mesh.one(T.subscription, 'notifier-orders').inputs;
    expect(sub).toMatchObject({
      enableMessageOrdering: true,
      enableExactlyOnceDelivery: false,
      filter: 'attributes.ce-type = "order.paid"',
      ackDeadlineSeconds: 20,
    });
    const redrive = mesh.one(T.subscription, 'notifier-orders-redrive').inputs;
    expect(redrive).toMatchObject({ enableMessageOrdering: true, enableExactlyOnceDelivery: false });
    expect(redrive.filter).toBeUndefined();
  });

  it('pushes to the service with an OIDC token for its URI, signed by its own push account', () => {
    const run = mesh.one(T.run, 'notifier');
    expect(run.state.uri).toBe('https://notifier-123456789012.asia-east1.run.app');
    for (const name of ['notifier-orders', 'notifier-orders-redrive']) {
      expect(mesh.one(T.subscription, name).inputs.pushConfig).toEqual({
        pushEndpoint: `${run.state.uri}/pubsub/push/notifier-orders`,
        oidcToken: { serviceAccountEmail: `mesh-notifier-push@${PROJECT}.iam.gserviceaccount.com`, audience: run.state.uri },
      });
      // Created after the service and the invoker grant, so the first pushes do not fail.
      expect(mesh.one(T.subscription, name).dependsOn).toEqual(
        expect.arrayContaining([`${T.run}::notifier`, `${T.runIam}::notifier-push-sa-run-invoker-notifier`]),
      );
    }
    expect(mesh.grantsOf(sa('mesh-notifier-push'))).toEqual(['roles/run.invoker on run notifier']);
    expect(mesh.grantsOf(sa('mesh-notifier'))).toEqual(['roles/pubsub.publisher on topic notifier-orders-dlq']);
    expect(run.inputs.template.containers[0].resources.cpuIdle).toBe(true);
    expect(run.inputs.template.scaling).toEqual({ minInstanceCount: 0, maxInstanceCount: 10 });
    expect(run.inputs.ingress).toBe('INGRESS_TRAFFIC_ALL');
  });

  it('deploys the accepted revision, not the newest listed one', () => {
    const definition = JSON.parse(mesh.one(T.schema, 'orders-schema').inputs.definition);
    expect(definition.fields.map((f: { name: string }) => f.name)).not.toContain('carrier'); // v2's field
    expect(mesh.one(T.topic, 'orders').inputs.messageRetentionDuration).toBe('172800s');
  });
});

describe('one BigQuery consumer and no services', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:specFile': fixture('bigquery.yaml'), 'event-mesh:alertChannels': ['7'] });
  });

  it('writes the consumer table through a native BigQuery subscription', () => {
    const sub = mesh.one(T.subscription, 'archive-analytics').inputs;
    expect(sub.bigqueryConfig).toEqual({ table: `${PROJECT}.fixture_bq.raw_analytics`, writeMetadata: true });
    expect(sub).toMatchObject({ enableExactlyOnceDelivery: false, deadLetterPolicy: { maxDeliveryAttempts: 12 } });
    expect(mesh.one(T.subscription, 'archive-analytics-redrive').inputs.bigqueryConfig).toEqual(sub.bigqueryConfig);
    const table = mesh.one(T.table, 'raw_analytics').inputs;
    expect(JSON.parse(table.schema).map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual([
      'subscription_name:STRING',
      'message_id:STRING',
      'publish_time:TIMESTAMP',
      'data:STRING',
      'attributes:JSON',
    ]);
    expect(table.timePartitioning).toEqual({ type: 'DAY', field: 'publish_time' });
  });

  it('lets the Pub/Sub agent write the dataset, and creates no Cloud Run at all', () => {
    // Its BigQuery grants are warehouse.ts's business (test/infra/program.test.ts checks the subscription waits for them).
    const agent = mesh.grantsOf(agentMember());
    expect(agent.filter((g) => !g.startsWith('roles/bigquery.'))).toEqual(
      [
        'roles/pubsub.publisher on topic archive-analytics-dlq',
        'roles/pubsub.subscriber on subscription archive-analytics',
        'roles/pubsub.subscriber on subscription archive-analytics-redrive',
      ].sort(),
    );
    expect(agent.some((g) => g.startsWith('roles/bigquery.dataEditor on '))).toBe(true);
    expect(mesh.all(T.run)).toEqual([]);
    expect(mesh.all(T.account)).toEqual([]);
    expect(mesh.all(T.image)).toEqual([]);
    expect(mesh.run.outputs).toEqual({ serviceUrls: {}, topicNames: ['analytics'], dataset: 'fixture_bq' });
  });

  it('alerts the configured channel', () => {
    for (const alert of mesh.all(T.alert)) expect(alert.inputs.notificationChannels).toEqual([`projects/${PROJECT}/notificationChannels/7`]);
    expect(
      mesh
        .all(T.alert)
        .map((a) => a.name)
        .sort(),
    ).toEqual([
      'analytics-publish-failures',
      'archive-analytics-backlog',
      'archive-analytics-buffer',
      'archive-analytics-dead-letters',
      'archive-analytics-oldest-unacked',
      'archive-analytics-retention-half',
      'archive-analytics-triage-escalation',
      'archive-analytics-triage-sla',
    ]);
  });
});

describe('bad input', () => {
  it('fails with the spec loader messages, one line per problem, before creating anything', async () => {
    const error = await failMesh({ 'event-mesh:specFile': fixture('invalid.yaml') });
    expect(error.message).toContain('mesh spec has 2 errors:');
    expect(error.message).toMatch(
      /invalid\.yaml:16:5 consumers\.notifier-orders\.exactlyOnce: exactly-once delivery works only with pull subscriptions, not push/,
    );
    expect(error.message).toMatch(/invalid\.yaml:17:19 consumers\.notifier-orders\.deadLetter\.maxAttempts: must be between 5 and 100, got 2/);
    expect(error.offlineRun?.resources.filter((r) => r.custom)).toEqual([]);
  });

  it('fails on stack config that cannot work, naming every problem, before creating anything', async () => {
    const error = await failMesh({
      'event-mesh:specFile': fixture('pull-exactly-once.yaml'),
      'event-mesh:scaling': { worker: { minInstances: 0 }, nobody: { maxInstances: 1 } },
    });
    expect(error.message).toContain('stack config has 2 errors:');
    expect(error.message).toContain('event-mesh:scaling.nobody: unknown service (services: worker)');
    expect(error.message).toContain('event-mesh:scaling.worker: minInstances must be at least 1 because worker pulls (worker-orders)');
    expect(error.offlineRun?.resources.filter((r) => r.custom)).toEqual([]);
  });
});
