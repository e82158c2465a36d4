/**
 * The launch checklist (shared/readiness): every item fails on a fixture spec that misses it and
 * passes on mesh.yaml with the facts a ready mesh has; the repository facts are read as the loader
 * reads the spec (an explicit compatibility mode, through merge keys too).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  compatibilityStated,
  launchChecklist,
  missingItems,
  repoFacts,
  SPEC_AND_REPO_ITEMS,
  type ChecklistItem,
  type ReadinessFacts,
  type TopicReadiness,
} from '../../shared/readiness';
import { loadSpec } from '../../shared/spec';
import { runbookStates } from '../../tools/readiness/facts';
import { defaultSpec, REPO_ROOT } from '../support/specs';

const UNREADY = path.join(__dirname, 'fixtures', 'launch-readiness', 'unready.yaml');

/** Everything a ready mesh has: the spec's own repository facts, the guide, current runbooks, a completed replay per consumer. */
function readyFacts(spec = defaultSpec()): ReadinessFacts {
  const completed = Object.fromEntries(Object.keys(spec.consumers).map((c) => [c, { replayId: `rp-${c}`, recordedAt: '2026-12-01T10:00:00.000Z', sent: 12 }]));
  return { compatibilityStated: compatibilityStated(spec), schemaGuide: true, runbooks: runbookStates(spec, REPO_ROOT), replays: { known: true, completed } };
}

const itemsOf = (topic: TopicReadiness, subject: string): ChecklistItem[] =>
  subject === topic.topic ? topic.items : (topic.consumers.find((c) => c.consumer === subject)?.items ?? []);
const item = (topic: TopicReadiness, subject: string, id: string) => itemsOf(topic, subject).find((i) => i.id === id)!;

describe('on mesh.yaml with a ready mesh\u2019s facts', () => {
  const spec = defaultSpec();
  const topics = launchChecklist(spec, readyFacts(spec));

  it('passes every item of every topic and consumer', () => {
    expect(topics.map((t) => t.topic)).toEqual(['analytics', 'orders']);
    expect(topics.flatMap((t) => missingItems(t))).toEqual([]);
    const orders = topics[1];
    expect(orders.impact).toBe('high');
    expect(orders.consumers.map((c) => c.consumer)).toEqual(['processor-orders', 'dashboard-orders', 'warehouse-orders', 'archive-orders']);
    expect(orders.items.map((i) => i.id)).toEqual(['owner', 'compatibility-documented']);
    expect(orders.consumers[0].items.map((i) => i.id)).toEqual(['owner', 'alerts-routed', 'runbooks', 'replay-tested', 'recovery']);
  });

  it('says what it found', () => {
    const orders = topics[1];
    expect(item(orders, 'orders', 'owner').detail).toBe('commerce (commerce-oncall@example.com)');
    expect(item(orders, 'orders', 'compatibility-documented').detail).toBe('FULL_TRANSITIVE, deprecation window 30d; docs/schemas.md');
    expect(item(orders, 'processor-orders', 'alerts-routed').detail).toBe('lag (oldest unacked > 2m, backlog > 5000), dead letters, buffer -> commerce');
    expect(item(orders, 'processor-orders', 'recovery').detail).toBe('RTO 30m, RPO 0s');
    expect(item(orders, 'processor-orders', 'replay-tested').detail).toBe('rp-processor-orders completed 2026-12-01T10:00:00.000Z (12 sent)');
  });

  it('takes one topic with --topic', () => {
    expect(launchChecklist(spec, readyFacts(spec), 'orders').map((t) => t.topic)).toEqual(['orders']);
  });
});

describe('on a spec that misses each item', () => {
  const spec = loadSpec(UNREADY);
  const facts: ReadinessFacts = { ...repoFacts(spec, os.tmpdir()), replays: { known: true, completed: {} } };
  const [orders] = launchChecklist(spec, facts);

  it('fails every item, each with how to fix it', () => {
    const missing = missingItems(orders).map(({ subject, item: i }) => `${subject}: ${i.id}`);
    expect(missing).toEqual([
      'topic orders: owner',
      'topic orders: compatibility-documented',
      'consumer worker-orders: owner',
      'consumer worker-orders: alerts-routed',
      'consumer worker-orders: runbooks',
      'consumer worker-orders: replay-tested',
      'consumer worker-orders: recovery',
    ]);
    for (const { item: i } of missingItems(orders)) expect(i.fix).not.toBe('');
    expect(item(orders, 'orders', 'owner').fix).toBe('define an owner with a channel under owners and name it in topics.orders.owner');
    expect(item(orders, 'orders', 'compatibility-documented').detail).toBe(
      'the spec leaves compatibility to its default (FULL_TRANSITIVE); docs/schemas.md is missing',
    );
    expect(item(orders, 'worker-orders', 'runbooks').detail).toBe('missing: docs/runbooks/lag.md, docs/runbooks/dead-letters.md, docs/runbooks/buffer.md');
    expect(item(orders, 'worker-orders', 'replay-tested').detail).toBe('no completed replay with events sent in replay_audit');
    expect(item(orders, 'worker-orders', 'replay-tested').fix).toContain('npm run mesh -- replay request --consumer worker-orders');
    expect(item(orders, 'worker-orders', 'recovery').fix).toContain('consumers.worker-orders.recovery');
  });

  it('keeps the replay item apart from what the spec and the repository tell', () => {
    expect(missingItems(orders, SPEC_AND_REPO_ITEMS).map(({ item: i }) => i.id)).not.toContain('replay-tested');
  });
});

describe('item by item on mesh.yaml', () => {
  const spec = defaultSpec();
  const missingWith = (facts: ReadinessFacts, s = spec) => launchChecklist(s, facts).flatMap((t) => missingItems(t));

  it('compatibility: the guide is required beside an explicit mode', () => {
    const missing = missingWith({ ...readyFacts(), schemaGuide: false });
    expect(missing.map(({ subject, item: i }) => `${subject}: ${i.id}: ${i.detail}`)).toEqual([
      'topic analytics: compatibility-documented: docs/schemas.md is missing',
      'topic orders: compatibility-documented: docs/schemas.md is missing',
    ]);
  });

  it('runbooks: a stale one fails every consumer, one the alerts do not name fails none', () => {
    const stale = missingWith({ ...readyFacts(), runbooks: { ...readyFacts().runbooks, buffer: 'stale' } });
    expect(stale).toHaveLength(Object.keys(spec.consumers).length);
    expect(stale[0].item.detail).toBe('differ from the spec: docs/runbooks/buffer.md');
    expect(missingWith({ ...readyFacts(), runbooks: { ...readyFacts().runbooks, parity: undefined } })).toEqual([]);
  });

  it('replay: only a completed replay of events counts; an unreadable audit is unknown', () => {
    const facts = readyFacts();
    const completed = facts.replays?.known ? facts.replays.completed : {};
    const without = missingWith({ ...facts, replays: { known: true, completed: { ...completed, 'processor-orders': undefined } } });
    expect(without.map(({ subject }) => subject)).toEqual(['consumer processor-orders']);
    const unknown = missingWith({ ...facts, replays: { known: false, reason: 'warehouse not reachable: ECONNREFUSED' } });
    expect(unknown).toHaveLength(Object.keys(spec.consumers).length);
    expect(unknown[0].item).toMatchObject({ id: 'replay-tested', ok: false, unknown: true, detail: 'unknown (warehouse not reachable: ECONNREFUSED)' });
  });

  it('owner and alerts: an owner without a channel is neither on call nor routed', () => {
    const noChannels = { ...spec, owners: { ...spec.owners, data: { ...spec.owners.data, channels: [] } } };
    const missing = missingWith(readyFacts(), noChannels);
    expect(new Set(missing.map(({ item: i }) => i.id))).toEqual(new Set(['owner', 'alerts-routed']));
    expect(missing.map(({ subject }) => subject)).toContain('consumer archive-orders');
  });
});

describe('compatibilityStated', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readiness-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the mode from the document, through merge keys, and not the default', () => {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(
      file,
      `version: 1
project: readiness-test
x-topic: &orders-policy { compatibility: BACKWARD }
topics:
  orders:
    <<: *orders-policy
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/orders')}, revisions: [v1, v2] }
    eventTypes: [order.created]
  analytics:
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/analytics')}, revisions: [v1, v2] }
    eventTypes: [click]
services: {}
consumers: {}
warehouse: { dataset: d }
`,
    );
    const spec = loadSpec(file);
    expect(spec.topics.analytics.schema.compatibility).toBe('FULL_TRANSITIVE');
    expect(compatibilityStated(spec)).toEqual({ orders: true, analytics: false });
    expect(compatibilityStated(defaultSpec())).toEqual({ analytics: true, orders: true });
  });

  it('states nothing for a spec that is not a file', () => {
    const spec = { ...defaultSpec(), file: path.join(dir, 'not-written.yaml') };
    expect(compatibilityStated(spec)).toEqual({ analytics: false, orders: false });
  });
});
