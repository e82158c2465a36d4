import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { ApplyConflictError, applyLocal } from '../../shared/local';
import { consumerResources } from '../../shared/spec';
import { localTapNames } from '../../shared/spec/names';
import { testPubSub, uniqueProject } from '../support/emulators';
import { REPO_ROOT, defaultSpec, specFromText } from '../support/specs';

const spec = defaultSpec();
const specText = fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8');
let pubsub: PubSub;
let project: string;

beforeEach(() => {
  project = uniqueProject('apply');
  pubsub = testPubSub(project);
});
afterEach(() => pubsub.close());

const names = async (list: Promise<[{ name: string }[], ...unknown[]]>) => (await list)[0].map((x) => x.name.split('/').pop()).sort();

describe('mesh apply --local', () => {
  it("creates every topic, schema revision and subscription of the spec, with the spec's settings", async () => {
    await applyLocal({ pubsub, spec });
    const consumers = Object.values(spec.consumers);
    const expectedTopics = [
      'analytics',
      'orders',
      ...consumers.flatMap((c) => [consumerResources(c).deadLetterTopic, consumerResources(c).redriveTopic]),
      localTapNames.holdExitsTopic,
    ];
    expect(await names(pubsub.getTopics())).toEqual(expectedTopics.sort());
    const expectedSubs = [
      ...consumers.flatMap((c) => [
        consumerResources(c).subscription,
        consumerResources(c).deadLetterHold,
        consumerResources(c).deadLetterArchive, // the spec has a warehouse, which drains it
        consumerResources(c).redriveSubscription,
        localTapNames.deadLetterTap(c.name),
        localTapNames.redriveTap(c.name),
      ]),
      ...Object.keys(spec.topics).map(localTapNames.topicTap),
      localTapNames.holdExitsTap,
    ];
    expect(await names(pubsub.getSubscriptions())).toEqual(expectedSubs.sort());

    const schemaClient = await pubsub.getSchemaClient();
    const [revisions] = await schemaClient.listSchemaRevisions({ name: `projects/${project}/schemas/orders-schema`, view: 'FULL' });
    expect(revisions).toHaveLength(2);
    const [topic] = await pubsub.topic('orders').getMetadata();
    expect(topic.schemaSettings).toMatchObject({ encoding: 'JSON' });
    const ids = revisions.map((r) => r.revisionId);
    expect([topic.schemaSettings!.firstRevisionId, topic.schemaSettings!.lastRevisionId].sort()).toEqual([...ids].sort());
    expect(Number(topic.messageRetentionDuration!.seconds)).toBe(7 * 86400);

    const [orders] = await pubsub.subscription('processor-orders').getMetadata();
    expect(orders).toMatchObject({
      topic: `projects/${project}/topics/orders`,
      ackDeadlineSeconds: 60,
      enableMessageOrdering: true,
      enableExactlyOnceDelivery: true,
      retainAckedMessages: true,
      deadLetterPolicy: { deadLetterTopic: `projects/${project}/topics/processor-orders-dlq`, maxDeliveryAttempts: 10 },
    });
    // Emulator workaround (shared/local/apply.ts): no retry policy on local subscriptions.
    expect(orders.retryPolicy).toBeNull();
    const [push] = await pubsub.subscription('dashboard-analytics').getMetadata();
    expect(push.pushConfig!.pushEndpoint).toBe('http://127.0.0.1:8081/pubsub/push/dashboard-analytics');
    expect(push.enableExactlyOnceDelivery).toBe(false);
    expect(push.retryPolicy).toBeNull();
    const [redrive] = await pubsub.subscription('dashboard-analytics-redrive').getMetadata();
    expect(redrive.topic).toBe(`projects/${project}/topics/dashboard-analytics-redrive`);
    expect(redrive.pushConfig!.pushEndpoint).toBe(push.pushConfig!.pushEndpoint);
  });

  it('is idempotent: a second run changes nothing', async () => {
    await applyLocal({ pubsub, spec });
    const again = await applyLocal({ pubsub, spec });
    expect(again.filter((s) => s.action !== 'unchanged')).toEqual([]);
  });

  it('updates mutable settings in place and refuses to silently drop a subscription', async () => {
    await applyLocal({ pubsub, spec, serviceUrls: { dashboard: 'http://127.0.0.1:9999' } });
    const changed = specFromText(
      specText.replace(
        'ackDeadline: 60s\n    retry: { minBackoff: 10s, maxBackoff: 300s }',
        'ackDeadline: 90s\n    retry: { minBackoff: 10s, maxBackoff: 300s }',
      ),
    );
    const steps = await applyLocal({ pubsub, spec: changed });
    expect(
      steps
        .filter((s) => s.action !== 'unchanged')
        .map((s) => `${s.name} ${s.action} ${s.detail}`)
        .sort(),
    ).toEqual([
      'dashboard-analytics updated pushConfig',
      'dashboard-analytics-redrive updated pushConfig',
      'dashboard-orders updated pushConfig',
      'dashboard-orders-redrive updated pushConfig',
      'processor-orders updated ackDeadlineSeconds',
      'processor-orders-redrive updated ackDeadlineSeconds',
    ]);
    expect((await pubsub.subscription('processor-orders').getMetadata())[0].ackDeadlineSeconds).toBe(90);

    const unordered = specFromText(specText.replace(/ordering: true( +# per-order)/, 'ordering: false$1'));
    await expect(applyLocal({ pubsub, spec: unordered })).rejects.toThrow(ApplyConflictError);
    await expect(applyLocal({ pubsub, spec: unordered })).rejects.toThrow(/processor-orders: enableMessageOrdering changed.*--recreate/);
    const recreated = await applyLocal({ pubsub, spec: unordered, recreate: true });
    expect(
      recreated
        .filter((s) => s.action === 'recreated')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['processor-orders', 'processor-orders-redrive']);
    expect((await pubsub.subscription('processor-orders').getMetadata())[0].enableMessageOrdering).toBe(false);
  });

  it("commits a new schema revision and widens the topic's accepted range", async () => {
    await applyLocal({ pubsub, spec });
    const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'test', '.tmp-schemas-'));
    try {
      for (const f of ['v1.avsc', 'v2.avsc']) fs.copyFileSync(path.join(REPO_ROOT, 'schemas/orders', f), path.join(dir, f));
      const v2 = JSON.parse(fs.readFileSync(path.join(dir, 'v2.avsc'), 'utf8'));
      v2.fields.push({ name: 'giftWrap', type: 'boolean', default: false });
      fs.writeFileSync(path.join(dir, 'v3.avsc'), JSON.stringify(v2));
      const evolved = specFromText(
        specText.replace('schema: { dir: schemas/orders, revisions: [v1, v2] }', `schema: { dir: ${path.relative(REPO_ROOT, dir)}, revisions: [v1, v2, v3] }`),
      );
      const steps = await applyLocal({ pubsub, spec: evolved });
      expect(steps.filter((s) => s.action !== 'unchanged').map((s) => `${s.kind} ${s.name} ${s.action}`)).toEqual([
        'schema-revision orders-schema@v3 created',
        'topic orders updated',
      ]);
      const order = { orderId: 'o', customerId: 'c', sequence: 1, amountCents: 0, currency: 'USD', itemCount: 0, reason: '', carrier: '', giftWrap: true };
      await expect(pubsub.topic('orders').publishMessage({ json: order })).resolves.toBeTruthy();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
