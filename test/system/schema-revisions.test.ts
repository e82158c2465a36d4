/**
 * infra/schema-revisions.ts (the logic behind the SchemaRevisions dynamic resource) with the real
 * @google-cloud/pubsub SchemaServiceClient against Google's Pub/Sub emulator, which implements
 * CreateSchema, CommitSchema and ListSchemaRevisions (shared/local/apply.ts relies on the same).
 * The limit of 20 revisions is GCP's; whether the emulator enforces it is not relied on, so that
 * case uses a fake client.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import {
  ensureRevisions,
  schemaRevisionClient,
  SchemaRevisionLimitError,
  type SchemaRevisionClient,
  type CommittedRevision,
} from '../../infra/schema-revisions';
import { REPO_ROOT } from '../support/specs';
import { testPubSub, uniqueProject } from '../support/emulators';

const project = uniqueProject('schema-revisions');
const read = (revision: string) => fs.readFileSync(path.join(REPO_ROOT, 'schemas/orders', `${revision}.avsc`), 'utf8');
const v1 = { name: 'v1', definition: read('v1') };
const v2 = { name: 'v2', definition: read('v2') };
const v3 = {
  name: 'v3',
  definition: JSON.stringify({
    ...JSON.parse(v2.definition),
    fields: [...JSON.parse(v2.definition).fields, { name: 'giftWrap', type: 'boolean', default: false }],
  }),
};

let pubsub: PubSub;
beforeAll(() => {
  pubsub = testPubSub(project);
});
afterAll(async () => {
  await pubsub.close();
});

/** A schema created with `first` (as gcp.pubsub.Schema does), its full name and a counting client. */
async function schemaWith(id: string, first: string) {
  const schemas = await pubsub.getSchemaClient();
  await schemas.createSchema({ parent: `projects/${project}`, schemaId: id, schema: { type: 'AVRO', definition: first } });
  const real = schemaRevisionClient(schemas);
  const commits: string[] = [];
  const client: SchemaRevisionClient = {
    listRevisions: (name) => real.listRevisions(name),
    commit: async (name, definition) => {
      commits.push(definition);
      return real.commit(name, definition);
    },
  };
  return { name: `projects/${project}/schemas/${id}`, client, commits, real };
}

it('commits the accepted revisions after the first, in order, and a second run commits nothing', async () => {
  const s = await schemaWith('fresh', v1.definition);
  const ids = await ensureRevisions(s.client, s.name, [v1, v2]);
  expect(s.commits).toEqual([v2.definition]);
  const listed = (await s.real.listRevisions(s.name)).sort((a, b) => a.createTime.localeCompare(b.createTime));
  expect(listed.map((r) => r.revisionId)).toEqual([ids.v1, ids.v2]);
  expect(await ensureRevisions(s.client, s.name, [v1, v2])).toEqual(ids);
  expect(s.commits).toHaveLength(1);
});

it('retiring v1 reuses v2; adding v3 commits only v3', async () => {
  const s = await schemaWith('moving', v1.definition);
  const ids = await ensureRevisions(s.client, s.name, [v1, v2]);
  expect(await ensureRevisions(s.client, s.name, [v2])).toEqual({ v2: ids.v2 });
  const extended = await ensureRevisions(s.client, s.name, [v2, v3]);
  expect(extended.v2).toBe(ids.v2);
  expect(s.commits).toEqual([v2.definition, v3.definition]);
});

it('a stack that began at v2 and now accepts v1..v2 commits v2 again after v1, so the range is in order', async () => {
  const s = await schemaWith('began-at-v2', v2.definition);
  const ids = await ensureRevisions(s.client, s.name, [v1, v2]);
  expect(s.commits).toEqual([v1.definition, v2.definition]);
  const listed = (await s.real.listRevisions(s.name)).sort((a, b) => a.createTime.localeCompare(b.createTime));
  expect(listed.map((r) => r.revisionId).slice(-2)).toEqual([ids.v1, ids.v2]);
});

it("refuses, committing nothing, to go past Pub/Sub's 20 revisions per schema", async () => {
  const full: CommittedRevision[] = Array.from({ length: 20 }, (_, i) => ({
    revisionId: `r${i}`,
    definition: `{"n":${i}}`,
    createTime: String(i).padStart(3, '0'),
  }));
  const commit = jest.fn();
  const fake: SchemaRevisionClient = { listRevisions: async () => full, commit };
  await expect(ensureRevisions(fake, 'projects/p/schemas/s', [v1])).rejects.toBeInstanceOf(SchemaRevisionLimitError);
  expect(commit).not.toHaveBeenCalled();
});
