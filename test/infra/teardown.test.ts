/**
 * `pulumi destroy` (issue 16): the provider refuses to delete a resource whose deletion protection is
 * on *in state*, so teardown is two steps (docs/infra.md, "Tearing down"): set
 * event-mesh:deletionProtection false and `pulumi up`, then `pulumi destroy`. That needs the one
 * switch to reach every protected resource; checked here under mocks, on every resource the program
 * makes, whichever file makes it. Provider docs: node_modules/@pulumi/gcp/cloudrunv2/service.d.ts
 * (deletionProtection "Defaults to true ... fail if this field is not set to false in Terraform state").
 */
import { policies } from '../../infra/policy/policies';
import { Mesh, runMesh, schemaGuideViolations, T } from './harness';

jest.setTimeout(60_000);

/** What keeps a resource (or its data) from being deleted, by input, for every type that has one. */
function protections(mesh: Mesh): { resource: string; protected: boolean }[] {
  return mesh.resources
    .filter((r) => r.custom)
    .flatMap((r) => {
      const p = r.inputs;
      const found: boolean[] = [];
      if ('deletionProtection' in p) found.push(p.deletionProtection !== false);
      if ('deleteContentsOnDestroy' in p) found.push(p.deleteContentsOnDestroy !== true);
      if ('deleteProtectionState' in p) found.push(p.deleteProtectionState === 'DELETE_PROTECTION_ENABLED');
      if (r.type === T.firestore) found.push(p.deletionPolicy !== 'DELETE');
      return found.map((value) => ({ resource: Mesh.key(r), protected: value }));
    });
}

async function violationsOf(mesh: Mesh): Promise<string[]> {
  const found: string[] = [];
  for (const r of mesh.resources.filter((x) => x.custom)) {
    for (const policy of policies) {
      const args = { type: r.type, name: r.name, urn: `urn:${r.type}::${r.name}`, props: r.inputs, getConfig: () => ({}) };
      for (const v of [policy.validateResource ?? []].flat()) await v(args as never, (message) => found.push(`${policy.name}: ${message}`));
    }
  }
  return found;
}

describe.each([
  ['protected (default)', {}, true],
  ['torn down (deletionProtection false)', { 'event-mesh:deletionProtection': false }, false],
])('%s', (_label, config, expected) => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh(config);
  });

  it('sets every protection the same way', () => {
    const all = protections(mesh);
    // Every Cloud Run service, every table, the dataset and the Firestore database carry one.
    for (const type of [T.run, T.table, T.dataset, T.firestore]) {
      for (const r of mesh.all(type)) expect(all.some((p) => p.resource === Mesh.key(r))).toBe(true);
    }
    expect(all.filter((p) => p.protected !== expected)).toEqual([]);
    for (const run of mesh.all(T.run)) expect(run.inputs.deletionProtection).toBe(expected);
  });

  it(`${expected ? 'passes' : 'fails'} the policy pack's data-store rule without the opt-out config`, async () => {
    const all = await violationsOf(mesh);
    // A protected stack passes the whole pack as is; an unprotected one only the data-store rule refuses.
    if (expected) expect(all).toEqual(schemaGuideViolations(''));
    else expect(all.length).toBeGreaterThan(0);
    if (!expected) expect(all.filter((v) => !v.startsWith('data-store-deletion-protection'))).toEqual(schemaGuideViolations(''));
  });
});
