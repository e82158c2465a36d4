/**
 * The Pulumi program on the repository's mesh.yaml, run once under mocks (the Pulumi engine is
 * mocked because it cannot run here; see harness.ts), checked resource by resource.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { consumerResources, loadSpec, pushPath, toProtoDuration } from '../../shared/spec';
import { TopicSchemas } from '../../shared/schemas/topic-schemas';
import { dedupViewQuery, eventsTableSchema } from '../../shared/warehouse';
import { LIVENESS_PROBE, STARTUP_PROBE } from '../../infra/services';
import { agentMember, Mesh, PROJECT, REPO, runMesh, T } from './harness';

jest.setTimeout(60_000);

const spec = loadSpec(`${REPO}/mesh.yaml`);
const consumers = Object.values(spec.consumers);
let mesh: Mesh;

beforeAll(async () => {
  mesh = await runMesh({
    'gcp:region': 'europe-west1',
    'event-mesh:deletionProtection': false,
    'event-mesh:alertChannels': ['projects/mesh-test/notificationChannels/42', '43'],
    'event-mesh:scaling': { default: { maxInstances: 4 }, dashboard: { minInstances: 0, maxInstances: 2 }, warehouse: { minInstances: 2, maxInstances: 3 } },
  });
});

const sa = (name: string) => `serviceAccount:${name}@${PROJECT}.iam.gserviceaccount.com`;

describe('APIs', () => {
  it('enables every API the mesh uses, and everything else waits for them', () => {
    const apis = mesh.all(T.api).map((a) => a.inputs.service);
    expect(apis).toEqual(
      expect.arrayContaining([
        'pubsub.googleapis.com',
        'run.googleapis.com',
        'bigquery.googleapis.com',
        'firestore.googleapis.com',
        'monitoring.googleapis.com',
        'iam.googleapis.com',
        'artifactregistry.googleapis.com',
      ]),
    );
    const apiKeys = mesh.all(T.api).map((a) => `${a.type}::${a.name}`);
    const others = mesh.resources.filter((r) => r.custom && r.type !== T.api);
    expect(others.length).toBeGreaterThan(100);
    for (const r of others)
      expect({ resource: `${r.type}::${r.name}`, dependsOn: r.dependsOn }).toEqual({
        resource: `${r.type}::${r.name}`,
        dependsOn: expect.arrayContaining(apiKeys),
      });
  });

  it('never disables an API on destroy', () => {
    for (const api of mesh.all(T.api)) expect(api.inputs.disableOnDestroy).toBe(false);
  });

  it('looks the project number up after the resource manager API is on', () => {
    expect(mesh.run.invokes.find((i) => i.token === 'gcp:organizations/getProject:getProject')?.inputs.projectId).toBe(PROJECT);
  });
});

describe('topics', () => {
  it.each(Object.values(spec.topics))('$name has an Avro schema holding every accepted revision and a JSON-encoded topic accepting them', (topic) => {
    const schema = mesh.one(T.schema, `${topic.name}-schema`);
    // Created with the oldest accepted revision; the others are committed after it (infra/schema-revisions.ts).
    const accepted = TopicSchemas.load(topic).accepted;
    expect(schema.inputs).toMatchObject({ type: 'AVRO', definition: accepted[0].definition });
    const ids = mesh.one('pulumi-nodejs:dynamic:Resource', `${topic.name}-schema-revisions`).state.revisionIds as Record<string, string>;
    expect(Object.keys(ids)).toEqual(accepted.map((r) => r.name));
    const created = mesh.one(T.topic, topic.name);
    expect(created.inputs.schemaSettings).toEqual({
      schema: schema.id,
      encoding: 'JSON',
      firstRevisionId: ids[accepted[0].name],
      lastRevisionId: ids[accepted[accepted.length - 1].name],
    });
    const replay = Math.max(...consumers.filter((c) => c.topic === topic.name && c.replay).map((c) => c.replay!.retentionSeconds));
    expect(parseInt(created.inputs.messageRetentionDuration, 10)).toBeGreaterThanOrEqual(replay);
    expect(created.inputs.messageRetentionDuration).toBe(toProtoDuration(topic.retentionSeconds));
  });
});

describe('consumers', () => {
  it.each(consumers)('$name has its subscription with the spec settings', (c) => {
    const names = consumerResources(c);
    const sub = mesh.one(T.subscription, names.subscription);
    const dlq = mesh.one(T.topic, names.deadLetterTopic);
    expect(sub.inputs).toMatchObject({
      topic: `projects/${PROJECT}/topics/${c.topic}`,
      ackDeadlineSeconds: c.ackDeadlineSeconds,
      retryPolicy: { minimumBackoff: toProtoDuration(c.retry.minBackoffSeconds), maximumBackoff: toProtoDuration(c.retry.maxBackoffSeconds) },
      deadLetterPolicy: { deadLetterTopic: dlq.id, maxDeliveryAttempts: c.deadLetter.maxAttempts },
      enableMessageOrdering: c.ordering,
      enableExactlyOnceDelivery: c.delivery === 'pull' && c.exactlyOnce,
      expirationPolicy: { ttl: '' },
    });
    if (c.replay) expect(sub.inputs).toMatchObject({ retainAckedMessages: true, messageRetentionDuration: toProtoDuration(c.replay.retentionSeconds) });
    else expect(sub.inputs.retainAckedMessages).toBeUndefined();
    expect(sub.inputs.filter).toBe(c.filter);
  });

  it.each(consumers)('$name keeps dead letters in a hold subscription and has a private redrive path', (c) => {
    const names = consumerResources(c);
    const dlq = mesh.one(T.topic, names.deadLetterTopic);
    const hold = mesh.one(T.subscription, names.deadLetterHold);
    expect(hold.inputs).toMatchObject({ topic: dlq.id, messageRetentionDuration: '2678400s', expirationPolicy: { ttl: '' } }); // 31 days: Pub/Sub's maximum
    expect(hold.inputs.deadLetterPolicy).toBeUndefined();

    const sub = mesh.one(T.subscription, names.subscription);
    const redriveTopic = mesh.one(T.topic, names.redriveTopic);
    const redrive = mesh.one(T.subscription, names.redriveSubscription);
    expect(redrive.inputs.topic).toBe(redriveTopic.id);
    // Same delivery as the consumer: same endpoint and token, or pull, or the same table.
    expect(redrive.inputs.pushConfig).toEqual(sub.inputs.pushConfig);
    expect(redrive.inputs.bigqueryConfig).toEqual(sub.inputs.bigqueryConfig);
    expect(redrive.inputs).toMatchObject({
      ackDeadlineSeconds: sub.inputs.ackDeadlineSeconds,
      deadLetterPolicy: sub.inputs.deadLetterPolicy,
      enableMessageOrdering: c.ordering,
    });
    // Only this consumer's redrive subscription reads the redrive topic.
    expect(mesh.all(T.subscription).filter((s) => s.inputs.topic === redriveTopic.id)).toHaveLength(1);
  });

  it.each(consumers)('$name: the Pub/Sub agent may publish dead letters and ack what it dead-letters', (c) => {
    const names = consumerResources(c);
    const grants = mesh.grantsOf(agentMember());
    expect(grants).toContain(`roles/pubsub.publisher on topic ${names.deadLetterTopic}`);
    expect(grants).toContain(`roles/pubsub.subscriber on subscription ${names.subscription}`);
    expect(grants).toContain(`roles/pubsub.subscriber on subscription ${names.redriveSubscription}`);
    // Bound to the subscription's id, as the provider expects.
    const subscriber = mesh
      .all(T.subscriptionIam)
      .find((g) => g.inputs.member === agentMember() && g.inputs.subscription === mesh.one(T.subscription, names.subscription).id);
    expect(subscriber).toBeDefined();
  });

  it('push consumers get an OIDC token whose audience is the Cloud Run service URI', () => {
    const push = consumers.filter((c) => c.delivery === 'push');
    expect(push.length).toBeGreaterThan(0);
    for (const c of push) {
      const run = mesh.one(T.run, c.service!);
      const pushConfig = mesh.one(T.subscription, c.name).inputs.pushConfig;
      expect(pushConfig.oidcToken).toEqual({ serviceAccountEmail: mesh.accountEmail(`mesh-${c.service}-push`), audience: run.state.uri });
      expect(pushConfig.pushEndpoint).toBe(`${run.state.uri}${pushPath(c.name)}`);
      expect(run.inputs.customAudiences).toEqual([run.state.uri]);
    }
  });

  it('exactly-once only on pull, ordering where the spec asks', () => {
    for (const sub of mesh.all(T.subscription))
      if (sub.inputs.enableExactlyOnceDelivery) expect(sub.inputs.pushConfig ?? sub.inputs.bigqueryConfig).toBeUndefined();
    expect(mesh.one(T.subscription, 'processor-orders').inputs).toMatchObject({ enableExactlyOnceDelivery: true, enableMessageOrdering: true });
    expect(mesh.one(T.subscription, 'processor-orders-redrive').inputs).toMatchObject({ enableExactlyOnceDelivery: true, enableMessageOrdering: true });
  });

  it('the BigQuery consumer writes its table natively, with metadata', () => {
    const sub = mesh.one(T.subscription, 'archive-orders');
    expect(sub.inputs.bigqueryConfig).toEqual({ table: `${PROJECT}.event_mesh.raw_orders`, writeMetadata: true });
    expect(sub.inputs.pushConfig).toBeUndefined();
    const table = mesh.one(T.table, 'raw_orders');
    const columns = JSON.parse(table.inputs.schema).map((f: { name: string }) => f.name);
    expect(columns).toEqual(expect.arrayContaining(['data', 'subscription_name', 'message_id', 'publish_time', 'attributes']));
    // Created only once the table exists and the agent may write it (its BigQuery grants, whatever their
    // shape: warehouse.ts decides them).
    const agentBigQuery = mesh.resources.filter((r) => r.type.startsWith('gcp:bigquery/') && /iam/i.test(r.type) && r.inputs.member === agentMember());
    expect(agentBigQuery.length).toBeGreaterThan(0);
    expect(agentBigQuery.map((r) => r.inputs.role)).toContain('roles/bigquery.dataEditor');
    const before = mesh.dependenciesOf(sub);
    for (const key of [`${T.table}::raw_orders`, ...agentBigQuery.map((r) => Mesh.key(r))])
      expect({ key, before: before.has(key) }).toEqual({ key, before: true });
  });
});

describe('IAM', () => {
  it('grants nothing to allUsers or allAuthenticatedUsers, anywhere', () => {
    const text = JSON.stringify(mesh.resources.map((r) => r.inputs));
    expect(text).not.toMatch(/allUsers|allAuthenticatedUsers/);
  });

  it('lets only the push accounts invoke services, each its own service', () => {
    const invokers = mesh.all(T.runIam).map((g) => `${g.inputs.role} ${g.inputs.name} ${g.inputs.member}`);
    expect(invokers.sort()).toEqual([`roles/run.invoker dashboard ${sa('mesh-dashboard-push')}`, `roles/run.invoker processor ${sa('mesh-processor-push')}`]);
  });

  it('gives each service account only its roles', () => {
    expect(mesh.grantsOf(sa('mesh-dashboard'))).toEqual(
      [
        'roles/datastore.user on project mesh-test',
        'roles/monitoring.viewer on project mesh-test',
        'roles/pubsub.publisher on topic dashboard-analytics-dlq',
        'roles/pubsub.publisher on topic dashboard-orders-dlq',
      ].sort(),
    );
    expect(mesh.grantsOf(sa('mesh-processor'))).toEqual(
      [
        'roles/datastore.user on project mesh-test',
        'roles/pubsub.publisher on topic processor-analytics-dlq',
        'roles/pubsub.publisher on topic processor-orders-dlq',
        'roles/pubsub.subscriber on subscription processor-orders',
        'roles/pubsub.subscriber on subscription processor-orders-redrive',
      ].sort(),
    );
    expect(mesh.grantsOf(sa('mesh-warehouse'))).toEqual(
      [
        'roles/bigquery.dataEditor on dataset event_mesh',
        'roles/datastore.viewer on project mesh-test', // reads its pull consumers' controls (profiles.ts)
        'roles/pubsub.publisher on topic warehouse-analytics-dlq',
        'roles/pubsub.publisher on topic warehouse-orders-dlq',
        'roles/pubsub.subscriber on subscription warehouse-analytics',
        'roles/pubsub.subscriber on subscription warehouse-analytics-redrive',
        'roles/pubsub.subscriber on subscription warehouse-orders',
        'roles/pubsub.subscriber on subscription warehouse-orders-redrive',
        // It copies every consumer's dead letters into dead_letters (services/warehouse/dead-letter-archive.ts).
        ...Object.keys(spec.consumers).map((c) => `roles/pubsub.subscriber on subscription ${c}-dlq-archive`),
      ].sort(),
    );
    expect(mesh.grantsOf(sa('mesh-dashboard-push'))).toEqual(['roles/run.invoker on run dashboard']);
    expect(mesh.grantsOf(sa('mesh-processor-push'))).toEqual(['roles/run.invoker on run processor']);
    // The agent: dead-letter plumbing, BigQuery subscription writes, push token minting; nothing on the project.
    const agent = mesh.grantsOf(agentMember());
    expect(agent.filter((g) => g.includes('on project'))).toEqual([]);
    expect(agent).toEqual(expect.arrayContaining(['roles/iam.serviceAccountTokenCreator on account mesh-dashboard-push@mesh-test.iam.gserviceaccount.com']));
    // Three per consumer, token creator on the two push accounts, and its BigQuery grants (warehouse.ts).
    expect(agent.filter((g) => !g.startsWith('roles/bigquery.'))).toHaveLength(consumers.length * 3 + 2);
  });

  it('binds grants only to accounts the mesh created or the Pub/Sub agent', () => {
    const members = new Set(mesh.resources.filter((r) => /iam(member|binding)/i.test(r.type)).map((r) => r.inputs.member));
    const accounts = mesh.all(T.account).map((a) => `serviceAccount:${a.state.email}`);
    for (const member of members) expect([...accounts, agentMember()]).toContain(member);
  });
});

describe('Cloud Run services', () => {
  it.each(Object.values(spec.services))('$name runs as its own account with the spec concurrency and wiring', (service) => {
    const run = mesh.one(T.run, service.name);
    const t = run.inputs.template;
    expect(run.inputs).toMatchObject({ location: 'europe-west1', deletionProtection: false });
    expect(t.serviceAccount).toBe(mesh.accountEmail(`mesh-${service.name}`));
    expect(t.maxInstanceRequestConcurrency).toBe(service.concurrency);
    const env = Object.fromEntries(t.containers[0].envs.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ GOOGLE_CLOUD_PROJECT: PROJECT, MESH_SERVICE: service.name, MESH_SPEC: '/app/mesh.yaml', BIGQUERY_DATASET: 'event_mesh' });
    const pushes = service.consumers.some((c) => spec.consumers[c].delivery === 'push');
    // Cloud Run has checked the token's signature and strips it (SIGNATURE_REMOVED_BY_GOOGLE): the container checks claims.
    if (pushes)
      expect(env).toMatchObject({
        MESH_PUSH_AUDIENCE: run.state.uri,
        MESH_PUSH_SERVICE_ACCOUNT: mesh.accountEmail(`mesh-${service.name}-push`),
        MESH_PUSH_TOKEN_CHECK: 'claims',
      });
    else expect([env.MESH_PUSH_AUDIENCE, env.MESH_PUSH_TOKEN_CHECK]).toEqual([undefined, undefined]);
    // Started and kept alive on /healthz (200 once listening); /readyz waits for pull streams and IAM.
    const container = t.containers[0];
    expect(container.startupProbe).toEqual({
      httpGet: { path: '/healthz', port: 8080 },
      initialDelaySeconds: 0,
      periodSeconds: 2,
      timeoutSeconds: 1,
      failureThreshold: 60,
    });
    expect(container.livenessProbe).toEqual({ httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 });
    expect(container.ports).toEqual({ containerPort: container.startupProbe.httpGet.port });
    // The built image, by digest.
    const image = mesh.all(T.image).find((i) => i.inputs.buildArgs.SERVICE === service.name)!;
    expect(t.containers[0].image).toBe(image.state.ref);
    expect(image.inputs).toMatchObject({ push: true, platforms: ['linux/amd64'], dockerfile: { location: expect.stringMatching(/services\/Dockerfile$/) } });
  });

  it('probes within what Cloud Run accepts', () => {
    // Startup: period * failures <= 240 s; every probe: timeout < period.
    expect(STARTUP_PROBE.periodSeconds * STARTUP_PROBE.failureThreshold).toBeLessThanOrEqual(240);
    for (const probe of [STARTUP_PROBE, LIVENESS_PROBE]) expect(probe.timeoutSeconds).toBeLessThan(probe.periodSeconds);
    expect(JSON.stringify([STARTUP_PROBE, LIVENESS_PROBE])).not.toContain('readyz');
  });

  it('labels the services that pull, for the policy pack', () => {
    expect(
      mesh
        .all(T.run)
        .map((r) => `${r.inputs.name}=${r.inputs.labels['mesh-pulls'] ?? '-'}`)
        .sort(),
    ).toEqual(['dashboard=-', 'processor=true', 'warehouse=true']);
  });

  it('keeps CPU allocated for services that pull, and scales as configured', () => {
    const cpuIdle = (name: string) => mesh.one(T.run, name).inputs.template.containers[0].resources.cpuIdle;
    const scaling = (name: string) => mesh.one(T.run, name).inputs.template.scaling;
    expect([cpuIdle('dashboard'), cpuIdle('processor'), cpuIdle('warehouse')]).toEqual([true, false, false]);
    expect(scaling('dashboard')).toEqual({ minInstanceCount: 0, maxInstanceCount: 2 });
    expect(scaling('processor')).toEqual({ minInstanceCount: 1, maxInstanceCount: 4 }); // pulls: at least one instance
    expect(scaling('warehouse')).toEqual({ minInstanceCount: 2, maxInstanceCount: 3 });
  });

  it('is internal, except the dashboard behind a load balancer', () => {
    expect(mesh.one(T.run, 'dashboard').inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER');
    expect(mesh.one(T.run, 'processor').inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(mesh.one(T.run, 'warehouse').inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
  });
});

describe('Firestore', () => {
  it('has a database, TTL policies on expiresAt (dedup records, not indexed, the dashboard aggregates, the anomaly log and the retired counters) and an unindexed likes map', () => {
    const db = mesh.one(T.firestore, '(default)');
    expect(db.inputs).toMatchObject({ type: 'FIRESTORE_NATIVE', locationId: 'europe-west1', deletionPolicy: 'DELETE' });
    const fields = mesh.all(T.firestoreField).map((f) => f.inputs);
    expect(fields).toEqual([
      expect.objectContaining({ collection: 'dedup', field: 'expiresAt', ttlConfig: {}, indexConfig: {}, database: '(default)' }),
      ...['shards', 'sketches', 'likes'].map((collection) => expect.objectContaining({ collection, field: 'expiresAt', ttlConfig: {}, database: '(default)' })),
      // The likes map (a key per post) is never queried: not indexed.
      expect.objectContaining({ collection: 'likes', field: 'posts', indexConfig: {}, database: '(default)' }),
      ...['anomalyCounts', 'anomalyLog'].map((collection) => expect.objectContaining({ collection, field: 'expiresAt', ttlConfig: {}, indexConfig: {} })),
    ]);
    // The dashboard's expiresAt keep their default index (only dedup's hot timestamp index is dropped).
    for (const f of fields.slice(1, 4)) expect(f.indexConfig).toBeUndefined();
    expect(fields[4].ttlConfig).toBeUndefined();
  });

  it('indexes the anomaly log for counts per topic and kind since a time (equality, equality, range: a composite index in GCP)', () => {
    expect(mesh.one(T.firestoreIndex, 'anomaly-log-count-index').inputs).toMatchObject({
      database: '(default)',
      collection: 'anomalyLog',
      queryScope: 'COLLECTION',
      fields: [
        { fieldPath: 'topic', order: 'ASCENDING' },
        { fieldPath: 'kind', order: 'ASCENDING' },
        { fieldPath: 'detectedAt', order: 'ASCENDING' },
      ],
    });
  });
});

describe('warehouse', () => {
  it('has the dataset, a partitioned events table and a dedup view per topic, and the dead-letter table', () => {
    expect(mesh.one(T.dataset, 'warehouse').inputs).toMatchObject({ datasetId: 'event_mesh', location: 'US' });
    for (const topic of Object.values(spec.topics)) {
      const table = mesh.one(T.table, `${topic.name}_events`);
      expect(table.inputs).toMatchObject({
        datasetId: 'event_mesh',
        timePartitioning: { type: 'DAY', field: 'event_time' },
        clusterings: ['event_type'],
        deletionProtection: false,
      });
      expect(JSON.parse(table.inputs.schema)).toEqual(eventsTableSchema(topic));
      // Added after the first deployments: last, where BigQuery appends it to an existing table (an in-place update).
      expect(JSON.parse(table.inputs.schema).at(-1)).toEqual(expect.objectContaining({ name: 'extensions', type: 'JSON', mode: 'NULLABLE' }));
      const view = mesh.one(T.table, `${topic.name}_events_dedup`);
      expect(view.inputs.view.query).toContain(`\`${PROJECT}.event_mesh.${topic.name}_events\``);
      expect(view.inputs.view.query).toBe(dedupViewQuery(PROJECT, 'event_mesh', topic.name));
    }
    const deadLetters = mesh.one(T.table, 'dead_letters');
    expect(JSON.parse(deadLetters.inputs.schema).map((f: { name: string }) => f.name)).toEqual([
      'event_id',
      'consumer',
      'topic',
      'reason',
      'error',
      'attributes',
      'data',
      'dead_lettered_at',
    ]);
  });
});

describe('monitoring', () => {
  it.each(consumers)('$name alerts on its lag SLO and on dead letters', (c) => {
    const alert = (kind: string) => mesh.one(T.alert, `${c.name}-${kind}`).inputs;
    const threshold = (kind: string) => alert(kind).conditions[0].conditionThreshold;
    expect(threshold('oldest-unacked')).toMatchObject({
      thresholdValue: c.lagSlo.oldestUnackedSeconds,
      comparison: 'COMPARISON_GT',
      filter: expect.stringContaining(`subscription_id = "${c.name}"`),
    });
    expect(threshold('oldest-unacked').filter).toContain('subscription/oldest_unacked_message_age');
    expect(threshold('backlog')).toMatchObject({ thresholdValue: c.lagSlo.backlog, filter: expect.stringContaining('subscription/num_undelivered_messages') });
    expect(threshold('dead-letters')).toMatchObject({ thresholdValue: 0, filter: expect.stringContaining(`subscription_id = "${c.name}-dlq-hold"`) });
    // Its owner's channel, then the stack's list (test/infra/owners.test.ts has the routing in full).
    expect(alert('backlog').notificationChannels).toEqual([
      ...mesh.channelsOf(c.owner!),
      'projects/mesh-test/notificationChannels/42',
      'projects/mesh-test/notificationChannels/43',
    ]);
  });

  it('has a dashboard row per consumer with the SLO as a threshold line', () => {
    const board = JSON.parse(mesh.all(T.dashboard)[0].inputs.dashboardJson);
    expect(board.mosaicLayout.tiles).toHaveLength(consumers.length * 3);
    for (const [row, c] of consumers.entries()) {
      const tiles = board.mosaicLayout.tiles.filter((t: { yPos: number }) => t.yPos === row * 16);
      expect(tiles.map((t: { widget: { title: string } }) => t.widget.title)).toEqual([
        `${c.name}: backlog`,
        `${c.name}: oldest unacked (s)`,
        `${c.name}: dead letters`,
      ]);
      expect(tiles[1].widget.xyChart.thresholds[0].value).toBe(c.lagSlo.oldestUnackedSeconds);
      // The dead-letter chart has no SLO line: no `thresholds` at all rather than [].
      expect(tiles[2].widget.xyChart).not.toHaveProperty('thresholds');
    }
  });

  it('sends no empty list in the dashboard JSON (the API drops them, which would show a diff on every update)', () => {
    const json = mesh.all(T.dashboard)[0].inputs.dashboardJson as string;
    expect(json).not.toMatch(/\[\]/);
    expect(json).not.toMatch(/"thresholds":\[\]/);
  });

  it.each(consumers.filter((c) => c.delivery === 'pull'))('$name (pull) tells whoever is paged how to add capacity', (c) => {
    // Cloud Run does not scale a pull service on its backlog; the lag alerts say what to change.
    for (const kind of ['oldest-unacked', 'backlog']) {
      expect(mesh.one(T.alert, `${c.name}-${kind}`).inputs.documentation.content).toContain(`event-mesh:scaling.${c.service}.minInstances`);
    }
    expect(mesh.one(T.alert, `${c.name}-dead-letters`).inputs.documentation.content).not.toContain('event-mesh:scaling');
  });

  it('every alert policy names its runbook, and the runbook exists', () => {
    const alerts = mesh.all(T.alert);
    expect(alerts.length).toBeGreaterThan(consumers.length);
    const named = alerts.map((a) => {
      const found = /Runbook: `(docs\/runbooks\/[a-z-]+\.md)`/.exec(String(a.inputs.documentation?.content));
      expect([a.name, found?.[1]]).toEqual([a.name, expect.any(String)]);
      expect(fs.existsSync(path.join(REPO, found![1]))).toBe(true);
      return [a.name, found![1]];
    });
    const runbookOf = Object.fromEntries(named);
    const c = consumers[0];
    expect(runbookOf[`${c.name}-oldest-unacked`]).toBe('docs/runbooks/lag.md');
    expect(runbookOf[`${c.name}-dead-letters`]).toBe('docs/runbooks/dead-letters.md');
    expect(runbookOf[`${c.name}-buffer`]).toBe('docs/runbooks/buffer.md');
  });
});

describe('outputs and policies', () => {
  it('exports service URLs, topic names and the dataset', () => {
    expect(mesh.run.outputs).toEqual({
      serviceUrls: {
        dashboard: 'https://dashboard-123456789012.europe-west1.run.app',
        processor: 'https://processor-123456789012.europe-west1.run.app',
        warehouse: 'https://warehouse-123456789012.europe-west1.run.app',
      },
      topicNames: ['analytics', 'orders'],
      dataset: 'event_mesh',
    });
  });

  it('passes every policy of the policy pack', async () => {
    // This stack sets deletionProtection false, so it runs with the documented opt-out config.
    expect(await mesh.policyViolations(undefined, { allowUnprotected: true })).toEqual([]);
  });
});
