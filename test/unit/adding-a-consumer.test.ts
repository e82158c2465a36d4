/**
 * Keeps docs/adding-a-consumer.md true: the example spec is the repository's mesh.yaml plus exactly
 * the additions the guide shows (so it cannot drift from the mesh it extends), it validates, and
 * every file the guide names exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadSpec } from '../../shared/spec';

const REPO = path.join(__dirname, '../..');
const guide = readFileSync(path.join(REPO, 'docs/adding-a-consumer.md'), 'utf8');
const base = loadSpec(path.join(REPO, 'mesh.yaml'));
const example = loadSpec(path.join(REPO, 'examples/fraud-scorer/mesh.yaml'));

/** A spec part without the paths that differ only because the example lives in another folder. */
const comparable = (value: unknown) =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'dir' || key === 'file' || key === 'dataDir' ? undefined : v)));

describe('docs/adding-a-consumer.md', () => {
  it("the example spec is mesh.yaml plus the guide's topic, service and consumer", () => {
    expect(Object.keys(example.topics).filter((t) => !base.topics[t])).toEqual(['payments']);
    expect(Object.keys(example.services).filter((s) => !base.services[s])).toEqual(['fraud-scorer']);
    expect(Object.keys(example.consumers).filter((c) => !base.consumers[c])).toEqual(['fraud-payments']);
    for (const t of Object.keys(base.topics)) expect(comparable(example.topics[t])).toEqual(comparable(base.topics[t]));
    for (const s of Object.keys(base.services)) expect(comparable(example.services[s])).toEqual(comparable(base.services[s]));
    for (const c of Object.keys(base.consumers)) expect(comparable(example.consumers[c])).toEqual(comparable(base.consumers[c]));
    expect(comparable(example.warehouse)).toEqual(comparable(base.warehouse));
  });

  it('declares what the guide says: ordered by user, pull, ordering and exactly-once, Firestore only', () => {
    expect(example.topics.payments.orderingKeyField).toBe('userId');
    expect(example.consumers['fraud-payments']).toMatchObject({
      delivery: 'pull',
      service: 'fraud-scorer',
      ordering: true,
      exactlyOnce: true,
      deadLetter: { maxAttempts: 5 },
    });
    expect(example.services['fraud-scorer']).toMatchObject({ localPort: 8084, uses: ['firestore'], consumers: ['fraud-payments'] });
    // The YAML blocks of the guide hold the same settings.
    expect(guide).toMatch(/orderingKey: userId/);
    expect(guide).toMatch(/uses: \[firestore\]/);
  });

  it('names only files that exist', () => {
    const named = [...guide.matchAll(/`((?:services|examples|shared|test|docs|infra)\/[\w./-]+\.(?:ts|yaml|avsc|md))`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter((f) => !existsSync(path.join(REPO, f)))).toEqual([]);
  });
});
