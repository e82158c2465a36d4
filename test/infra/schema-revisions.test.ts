/**
 * Every accepted schema revision live in GCP (issue 22), in the program run under Pulumi's mocks.
 * Documented Pub/Sub behaviour encoded here (see infra/schema-revisions.ts for the URLs): a topic's
 * schemaSettings firstRevisionId..lastRevisionId is an inclusive range of revisions in commit order;
 * gcp.pubsub.Schema holds one definition (changing it commits a revision), so the Schema is created
 * with the oldest accepted revision and its definition is then ignored; SchemaRevisions commits the
 * rest. The mock's revision id is a hash of schema + definition (infra/offline-run.ts).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, writeRepoSpecWithFreePorts } from '../support/specs';
import { Mesh, PROJECT, runMesh, T } from './harness';

jest.setTimeout(60_000);

const REVISIONS = 'pulumi-nodejs:dynamic:Resource';
const SCHEMA = `projects/${PROJECT}/schemas/orders-schema`;
const definition = (revision: string, dir = path.join(REPO_ROOT, 'schemas/orders')) => fs.readFile(path.join(dir, `${revision}.avsc`), 'utf8');

/** The program on mesh.yaml with the orders topic's schema edited; returns the run. */
async function meshWithOrdersSchema(schema: Record<string, unknown>): Promise<Mesh> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'schema-revisions-'));
  const file = await writeRepoSpecWithFreePorts(dir, (doc) => Object.assign(doc.topics.orders.schema, schema));
  return runMesh({ 'event-mesh:specFile': file });
}

const revisionsOf = (mesh: Mesh) => mesh.all(REVISIONS).find((r) => r.name === 'orders-schema-revisions')!;

describe('a fresh stack accepting v1..v2', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await meshWithOrdersSchema({});
  });

  it('creates the schema with the oldest accepted revision and never rewrites its definition', async () => {
    const schema = mesh.one(T.schema, 'orders-schema');
    expect(schema.inputs.definition).toBe(await definition('v1'));
    expect(schema.ignoreChanges).toEqual(['definition']);
  });

  it('commits every accepted revision in spec order, after the schema exists', async () => {
    const revisions = revisionsOf(mesh);
    expect(revisions.inputs.schema).toBe(SCHEMA);
    expect(revisions.inputs.revisions).toEqual([
      { name: 'v1', definition: await definition('v1') },
      { name: 'v2', definition: await definition('v2') },
    ]);
    expect(revisions.dependsOn).toContain(`${T.schema}::orders-schema`);
  });

  it("sets the topic's inclusive revision range to exactly v1..v2", () => {
    const ids = revisionsOf(mesh).state.revisionIds;
    const topic = mesh.one(T.topic, 'orders');
    expect(topic.inputs.schemaSettings).toEqual({ schema: SCHEMA, encoding: 'JSON', firstRevisionId: ids.v1, lastRevisionId: ids.v2 });
    expect(ids.v1).not.toBe(ids.v2);
    expect(topic.dependsOn).toContain(`${REVISIONS}::orders-schema-revisions`);
  });
});

describe('retiring and adding revisions', () => {
  let before: Mesh;
  beforeAll(async () => {
    before = await meshWithOrdersSchema({});
  });

  it('retiring v1 (accept.first: v2) moves the range forward and keeps the schema', async () => {
    const after = await meshWithOrdersSchema({ accept: { first: 'v2', last: 'v2' } });
    const v2 = revisionsOf(before).state.revisionIds.v2;
    expect(after.one(T.topic, 'orders').inputs.schemaSettings).toMatchObject({ firstRevisionId: v2, lastRevisionId: v2 });
    // Same logical name and id: no replacement, so no delete of the schema (its definition is ignored).
    const schema = after.one(T.schema, 'orders-schema');
    expect(schema.id).toBe(before.one(T.schema, 'orders-schema').id);
    expect(schema.ignoreChanges).toEqual(['definition']);
    expect(revisionsOf(after).inputs.revisions.map((r: { name: string }) => r.name)).toEqual(['v2']);
  });

  it('an added revision v3 extends the range; v1 and v2 keep their ids', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'orders-schemas-'));
    for (const r of ['v1', 'v2']) await fs.writeFile(path.join(dir, `${r}.avsc`), await definition(r));
    const v3 = JSON.parse(await definition('v2'));
    v3.fields.push({ name: 'giftWrap', type: 'boolean', default: false });
    await fs.writeFile(path.join(dir, 'v3.avsc'), JSON.stringify(v3, null, 2));
    const after = await meshWithOrdersSchema({ dir, revisions: ['v1', 'v2', 'v3'] });
    const ids = revisionsOf(after).state.revisionIds;
    expect(Object.keys(ids)).toEqual(['v1', 'v2', 'v3']);
    expect({ v1: ids.v1, v2: ids.v2 }).toEqual({ v1: revisionsOf(before).state.revisionIds.v1, v2: revisionsOf(before).state.revisionIds.v2 });
    expect(after.one(T.topic, 'orders').inputs.schemaSettings).toMatchObject({ firstRevisionId: ids.v1, lastRevisionId: ids.v3 });
  });
});
