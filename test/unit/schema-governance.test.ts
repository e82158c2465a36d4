/**
 * The schema gates of issue 22, each with a failing fixture: compatibility modes, the deprecation
 * window, the revision lock, approvals, and consumer readiness (the real decoder and each service's
 * event check on generated samples). Fixtures are the repository's orders topic with revisions
 * written to a temporary folder; nothing is mocked.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as avro from 'avsc';
import {
  compatibilityIssues,
  consumerReadiness,
  formatGovernanceIssue,
  readApprovals,
  readLock,
  revisionHash,
  schemaGovernanceIssues,
  type GovernanceIssue,
} from '../../shared/governance';
import { samplePayload, topicSchemas } from '../../shared/schemas';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { serviceEventChecks } from '../../tools/schema/event-checks';
import { retireRevision } from '../../tools/schema/retire';
import { acceptRevision, approveRevision } from '../../tools/schema/revision-records';
import { REPO_ROOT, specFromText } from '../support/specs';

const base = fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8');
const ordersV1 = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/orders/v1.avsc'), 'utf8')) as { fields: Record<string, unknown>[] };
const ordersV2 = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/orders/v2.avsc'), 'utf8')) as { fields: Record<string, unknown>[] };
const realLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/orders/revisions.lock.json'), 'utf8')) as Record<string, unknown>;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(REPO_ROOT, 'test', '.tmp-governance-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The repository's spec with the orders topic's revisions in `dir`; v1 and v2 locked as in the repo. */
function ordersMesh(revisions: Record<string, object>, edit: (text: string) => string = (t) => t, lock: Record<string, unknown> = realLock): MeshSpec {
  for (const [name, schema] of Object.entries(revisions)) {
    // The released revisions byte for byte (their lock hashes), the fixture's own as JSON.
    const released = schema === ordersV1 ? 'v1' : schema === ordersV2 ? 'v2' : undefined;
    if (released) fs.copyFileSync(path.join(REPO_ROOT, `schemas/orders/${released}.avsc`), path.join(dir, `${name}.avsc`));
    else fs.writeFileSync(path.join(dir, `${name}.avsc`), JSON.stringify(schema, null, 2));
  }
  fs.writeFileSync(path.join(dir, 'revisions.lock.json'), JSON.stringify(lock));
  const text = base.replace(
    'schema: { dir: schemas/orders, revisions: [v1, v2] }',
    `schema: { dir: ${path.relative(REPO_ROOT, dir)}, revisions: [${Object.keys(revisions).join(', ')}] }`,
  );
  return specFromText(edit(text));
}

const withField = (schema: { fields: Record<string, unknown>[] }, field: Record<string, unknown>) => ({ ...schema, fields: [...schema.fields, field] });
const without = (schema: { fields: Record<string, unknown>[] }, name: string) => ({ ...schema, fields: schema.fields.filter((f) => f.name !== name) });
const deprecating = (schema: { fields: Record<string, unknown>[] }, name: string) => ({
  ...schema,
  fields: schema.fields.map((f) => (f.name === name ? { ...f, deprecated: true } : f)),
});
/** The orders consumers declare more revisions. */
const ordersReading = (revisions: string) => (text: string) => text.replace(/(topic: orders\n(?: {4}.*\n)*? {4})reads: \[v1, v2\]/g, `$1reads: [${revisions}]`);
const readingV3 = ordersReading('v1, v2, v3');
const rules = (issues: GovernanceIssue[], rule: GovernanceIssue['rule']) => issues.filter((i) => i.rule === rule).map(formatGovernanceIssue);

describe('compatibility modes', () => {
  const record = (fields: object[]) => avro.Type.forSchema({ type: 'record', name: 'E', fields } as avro.Schema);
  const v1 = { name: 'v1', type: record([{ name: 'a', type: 'string' }]) };
  const v2 = {
    name: 'v2',
    type: record([
      { name: 'a', type: 'string' },
      { name: 'b', type: 'string', default: '' },
    ]),
  };
  const v3 = {
    name: 'v3',
    type: record([
      { name: 'a', type: 'string' },
      { name: 'b', type: 'string' },
    ]),
  };
  const dropsA = { name: 'v2', type: record([{ name: 'z', type: 'int', default: 0 }]) };

  it('BACKWARD checks the new reader against the previous writer only; the transitive form against every older one', () => {
    expect(compatibilityIssues('t', [v1, v2, v3], 'BACKWARD')).toEqual([]);
    const transitive = compatibilityIssues('t', [v1, v2, v3], 'BACKWARD_TRANSITIVE');
    expect(transitive).toEqual([
      expect.objectContaining({
        rule: 'compatibility',
        revision: 'v3',
        field: 'b',
        message: expect.stringMatching(/readers of v3 cannot read events written with v1 \(BACKWARD\): v3 has it without a default/),
      }),
    ]);
  });

  it('FORWARD lets a required field go that BACKWARD keeps; FULL needs both; NONE checks nothing', () => {
    expect(compatibilityIssues('t', [v1, dropsA], 'BACKWARD')).toEqual([]);
    expect(compatibilityIssues('t', [v1, dropsA], 'FORWARD').map((i) => i.field)).toEqual(['a']);
    expect(compatibilityIssues('t', [v1, dropsA], 'FULL').map((i) => i.field)).toEqual(['a']);
    expect(compatibilityIssues('t', [v1, v3], 'FORWARD')).toEqual([]);
    expect(compatibilityIssues('t', [v1, v3], 'FULL').map((i) => i.field)).toEqual(['b']);
    expect(compatibilityIssues('t', [v1, v3, dropsA], 'NONE')).toEqual([]);
  });

  it('a spec whose revisions break its mode does not load, and a looser mode lets the same revisions load', () => {
    const required = withField(ordersV2, { name: 'warehouseId', type: 'string' });
    expect(() => ordersMesh({ v1: ordersV1, v2: ordersV2, v3: required })).toThrow(
      /v3: field "warehouseId": FULL_TRANSITIVE: readers of v3 cannot read events written with v1/,
    );
    const spec = ordersMesh({ v1: ordersV1, v2: ordersV2, v3: required }, (t) =>
      t.replace(/(orderingKey: orderId.*\n) {4}compatibility: FULL_TRANSITIVE/, '$1    compatibility: FORWARD_TRANSITIVE'),
    );
    expect(spec.topics.orders.schema.compatibility).toBe('FORWARD_TRANSITIVE');
  });
});

describe('the deprecation window', () => {
  const today = (day: string) => new Date(`${day}T12:00:00Z`);

  it('refuses removing a field no revision marked deprecated, naming topic, revision, field and rule', () => {
    const spec = ordersMesh({ v1: ordersV1, v2: ordersV2, v3: without(ordersV2, 'carrier') }, readingV3);
    expect(rules(schemaGovernanceIssues(spec, { today: today('2027-06-01') }), 'remove-after-deprecation')).toEqual([
      expect.stringMatching(/^orders v3 field "carrier": is removed but v2 does not mark it deprecated: .* \[rule remove-after-deprecation\]$/),
    ]);
  });

  it('refuses a removal before the window and says from which day it is allowed; allows it after', () => {
    const lock = { ...realLock, v3: { sha256: '', accepted: '2026-12-01' } };
    const revisions = { v1: ordersV1, v2: ordersV2, v3: deprecating(ordersV2, 'reason'), v4: without(ordersV2, 'reason') };
    const edit = ordersReading('v1, v2, v3, v4');
    const early = rules(schemaGovernanceIssues(ordersMesh(revisions, edit, lock), { today: today('2026-12-20') }), 'deprecation-window');
    expect(early).toEqual([
      'orders v4 field "reason": is removed too early: deprecated in v3 (accepted 2026-12-01) with a 30-day window, so its removal is allowed in a revision accepted from 2026-12-31 (this one: 2026-12-20, not accepted yet) [rule deprecation-window]',
    ]);
    expect(rules(schemaGovernanceIssues(ordersMesh(revisions, edit, lock), { today: today('2026-12-31') }), 'deprecation-window')).toEqual([]);
  });
});

describe('the revision lock', () => {
  it('fails when an accepted revision is edited in place, and names a revision not accepted yet', () => {
    const edited = { ...ordersV2, doc: 'edited after release' };
    const spec = ordersMesh({ v1: ordersV1, v2: edited, v3: withField(ordersV2, { name: 'giftWrap', type: 'boolean', default: false }) }, readingV3);
    expect(rules(schemaGovernanceIssues(spec), 'revision-lock')).toEqual([
      expect.stringMatching(
        /^orders v2: was edited after it was accepted on 2026-11-23 \(sha256 ef299a79d22c in .*, [0-9a-f]{12} now\): a released revision cannot change/,
      ),
      expect.stringMatching(/^orders v3: is not accepted yet .*: run `mesh schema accept orders v3` once the other gates pass/),
    ]);
  });

  it('mesh schema accept locks a revision only once its other gates pass, with its hash and day', () => {
    const v3 = withField(ordersV2, { name: 'giftWrap', type: 'boolean', default: false });
    const notReady = ordersMesh({ v1: ordersV1, v2: ordersV2, v3 });
    const refused = acceptRevision(notReady, 'orders', 'v3', { today: new Date('2027-01-10T00:00:00Z') });
    expect(refused.accepted).toBe(false);
    expect(refused.issues.map((i) => i.rule)).toEqual(expect.arrayContaining(['readiness', 'approval']));
    expect(readLock(notReady.topics.orders).v3).toBeUndefined();

    const ready = ordersMesh({ v1: ordersV1, v2: ordersV2, v3 }, readingV3);
    approveRevision(ready, 'orders', 'v3', 'commerce-lead@example.com', new Date('2027-01-09T00:00:00Z'));
    expect(acceptRevision(ready, 'orders', 'v3', { today: new Date('2027-01-10T00:00:00Z') })).toEqual({ accepted: true, day: '2027-01-10', issues: [] });
    const hash = revisionHash(fs.readFileSync(path.join(dir, 'v3.avsc'), 'utf8'));
    expect(readLock(ready.topics.orders).v3).toEqual({ sha256: hash, accepted: '2027-01-10' });
    expect(schemaGovernanceIssues(ready)).toEqual([]);
  });
});

describe('approvals', () => {
  const v3 = withField(ordersV2, { name: 'giftWrap', type: 'boolean', default: false });

  it('a revision from approval.from on needs a record by a listed approver, and a new one once it changes', () => {
    const spec = ordersMesh({ v1: ordersV1, v2: ordersV2, v3 }, readingV3);
    expect(rules(schemaGovernanceIssues(spec), 'approval')).toEqual([
      'orders v3: needs an approval by one of commerce-lead@example.com, data-lead@example.com: `mesh schema approve orders v3 --by NAME` [rule approval]',
    ]);
    expect(() => approveRevision(spec, 'orders', 'v3', 'someone@example.com')).toThrow(/someone@example.com is not an approver of orders/);
    expect(() => approveRevision(spec, 'orders', 'v2', 'data-lead@example.com')).toThrow(/needs no approval: approvals start at v3/);
    approveRevision(spec, 'orders', 'v3', 'data-lead@example.com', new Date('2027-01-09T00:00:00Z'));
    expect(readApprovals(spec.topics.orders)).toEqual([
      { revision: 'v3', by: 'data-lead@example.com', date: '2027-01-09', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(rules(schemaGovernanceIssues(spec), 'approval')).toEqual([]);

    fs.writeFileSync(path.join(dir, 'v3.avsc'), JSON.stringify({ ...v3, doc: 'changed after approval' }));
    const changed = ordersMesh({ v1: ordersV1, v2: ordersV2, v3: { ...v3, doc: 'changed after approval' } }, readingV3);
    expect(rules(schemaGovernanceIssues(changed), 'approval')).toEqual([
      'orders v3: changed after data-lead@example.com approved it on 2027-01-09: it needs a new approval (`mesh schema approve orders v3 --by NAME`) [rule approval]',
    ]);
  });
});

describe('consumer readiness', () => {
  it('a consumer that does not declare the revision is not ready, by name', () => {
    const spec = ordersMesh({ v1: ordersV1, v2: ordersV2, v3: withField(ordersV2, { name: 'giftWrap', type: 'boolean', default: false }) });
    const rows = consumerReadiness(spec, 'orders', 'v3', serviceEventChecks(spec));
    expect(rows.map((r) => [r.consumer, r.ready, r.declared])).toEqual([
      ['processor-orders', false, false],
      ['dashboard-orders', false, false],
      ['warehouse-orders', false, false],
      ['archive-orders', false, false],
    ]);
    expect(rows[0].problems).toEqual(['does not declare v3 in reads (reads: v1, v2)']);
  });

  it("runs each service's own check on samples: a revision without the like's postId is refused by dashboard and processor", () => {
    const analyticsV2 = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/analytics/v2.avsc'), 'utf8')) as { fields: Record<string, unknown>[] };
    const analyticsV1 = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/analytics/v1.avsc'), 'utf8')) as object;
    fs.writeFileSync(path.join(dir, 'v1.avsc'), JSON.stringify(analyticsV1));
    fs.writeFileSync(path.join(dir, 'v2.avsc'), JSON.stringify(analyticsV2));
    fs.writeFileSync(path.join(dir, 'v3.avsc'), JSON.stringify(without(analyticsV2, 'postId')));
    const spec = specFromText(
      base
        .replace('schema: { dir: schemas/analytics, revisions: [v1, v2] }', `schema: { dir: ${path.relative(REPO_ROOT, dir)}, revisions: [v1, v2, v3] }`)
        .replace(/(topic: analytics\n(?: {4}.*\n)*? {4})reads: \[v1, v2\]/g, '$1reads: [v1, v2, v3]')
        .replace(/(retention: 7d # long enough.*\n(?:.*\n)*?) {4}compatibility: FULL_TRANSITIVE/, '$1    compatibility: NONE'),
    );
    const rows = consumerReadiness(spec, 'analytics', 'v3', serviceEventChecks(spec));
    const byConsumer = Object.fromEntries(rows.map((r) => [r.consumer, r.problems]));
    expect(byConsumer['dashboard-analytics']).toEqual([
      'refuses a full like.created sample of v3: like.created without postId',
      'refuses a full like.removed sample of v3: like.removed without postId',
    ]);
    expect(byConsumer['processor-analytics']).toEqual(byConsumer['dashboard-analytics']);
    expect(byConsumer['warehouse-analytics']).toEqual([]);
    // Without the services' checks only the decoder runs, and it takes the samples.
    expect(consumerReadiness(spec, 'analytics', 'v3').every((r) => r.ready)).toBe(true);
  });

  it('generated samples are valid payloads of their revision, full and minimal', () => {
    for (const topic of ['analytics', 'orders']) {
      const spec = specFromText(base);
      for (const revision of topicSchemas(spec, topic).revisions) {
        for (const variant of ['full', 'minimal'] as const)
          expect(() => topicSchemas(spec, topic).normalize(samplePayload(revision, variant), revision.name)).not.toThrow();
      }
    }
  });
});

describe('mesh schema retire', () => {
  /** The repository's spec as a file in `dir`, its analytics consumers reading `reads`. */
  function specFile(reads: string): string {
    const file = path.join(dir, 'mesh.yaml');
    const text = base
      .replace(/dir: schemas\//g, `dir: ${path.join(REPO_ROOT, 'schemas')}/`)
      .replace(/(topic: analytics\n(?: {4}.*\n)*? {4})reads: \[v1, v2\]/g, `$1reads: [${reads}]`);
    fs.writeFileSync(file, text);
    return file;
  }
  const never = () => Promise.resolve(0);

  it('is refused while a consumer declares the revision, or the warehouse saw it published within the window', async () => {
    const declared = loadSpec(specFile('v1, v2'));
    await expect(retireRevision(declared, 'analytics', 'v1', never)).rejects.toThrow(
      'dashboard-analytics, processor-analytics, warehouse-analytics still declare v1 in reads: remove it from their reads first',
    );
    const spec = loadSpec(specFile('v2'));
    const asked: [string, string, string][] = [];
    const recent = (topic: string, revision: string, since: Date) => (asked.push([topic, revision, since.toISOString()]), Promise.resolve(3));
    await expect(retireRevision(spec, 'analytics', 'v1', recent, new Date('2027-01-31T00:00:00Z'))).rejects.toThrow(
      'the warehouse shows 3 analytics events written with v1 published since 2027-01-01T00:00:00.000Z (the deprecation window): a producer still sends it',
    );
    expect(asked).toEqual([['analytics', 'v1', '2027-01-01T00:00:00.000Z']]);
    await expect(retireRevision(spec, 'analytics', 'v2', never)).rejects.toThrow(/only the oldest accepted revision can be retired \(v1\)/);
  });

  it('moves accept.first past the revision in the spec file, keeping its comments; producers may no longer send it', async () => {
    const file = specFile('v2');
    const before = fs.readFileSync(file, 'utf8').split('\n');
    expect(await retireRevision(loadSpec(file), 'analytics', 'v1', never)).toEqual({ first: 'v2', last: 'v2' });
    const changed = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line, i) => line !== before[i]);
    expect(changed).toEqual([`    schema: { dir: ${path.join(REPO_ROOT, 'schemas')}/analytics, revisions: [v1, v2], accept: { first: v2, last: v2 } }`]);
    const after = loadSpec(file);
    expect(after.topics.analytics.schema.accept).toEqual({ first: 'v2', last: 'v2' });
    expect(after.topics.orders.schema.accept).toEqual({ first: 'v1', last: 'v2' });
    expect(fs.readFileSync(file, 'utf8')).toContain('# The event mesh, declared once.');
    expect(() => topicSchemas(after, 'analytics').normalize({ userId: 'u' }, 'v1')).toThrow(/revision v1 is not accepted by topic analytics \(accepts v2\)/);
    await expect(retireRevision(after, 'analytics', 'v2', never)).rejects.toThrow(/v2 is the only revision analytics accepts/);
  });
});

describe('mesh schema check, as CI runs it', () => {
  const run = (specFile: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--spec', specFile, 'schema', 'check'], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );

  it('exits 1 with one line per issue naming topic, revision, field and rule; 0 on the repository', async () => {
    ordersMesh({ v1: ordersV1, v2: ordersV2, v3: without(ordersV2, 'carrier') }, readingV3);
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(
      file,
      readingV3(
        base
          .replace(/dir: schemas\//g, `dir: ${path.join(REPO_ROOT, 'schemas')}/`)
          .replace(`dir: ${path.join(REPO_ROOT, 'schemas')}/orders, revisions: [v1, v2] }`, `dir: ${dir}, revisions: [v1, v2, v3] }`),
      ),
    );
    const failed = await run(file);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^orders v3 field "carrier": is removed but v2 does not mark it deprecated: .*\[rule remove-after-deprecation\]$/m);
    expect(failed.stdout).toMatch(/^orders v3: needs an approval by one of .*\[rule approval\]$/m);
    expect(failed.stdout).toMatch(/^3 schema issues/m);
    const ok = await run(path.join(REPO_ROOT, 'mesh.yaml'));
    expect(ok).toEqual({ code: 0, stdout: 'schemas ok: analytics v1..v2, orders v1..v2\n' });
  }, 60_000);
});

describe("the repository's own schemas", () => {
  it('pass every gate', () => {
    const spec = specFromText(base);
    expect(schemaGovernanceIssues(spec, { checkFor: serviceEventChecks(spec) }).map(formatGovernanceIssue)).toEqual([]);
  });
});
