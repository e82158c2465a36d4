/**
 * The deliberate waits for IAM and API propagation, and the Pub/Sub agent's least-privilege BigQuery
 * grant, in the program run under Pulumi's mocks (see harness.ts). GCP's documented behaviour:
 * IAM changes "typically propagate in 2 minutes, but could potentially take 7 minutes or longer"
 * (https://cloud.google.com/iam/docs/access-change-propagation) and Pub/Sub checks the table
 * permission when it creates a BigQuery subscription: the subscription must wait for the grant.
 */
import { API_PROPAGATION_SECONDS, IAM_PROPAGATION_SECONDS } from '../../infra/propagation';
import { agentMember, fixture, Mesh, runMesh, T } from './harness';

jest.setTimeout(60_000);

const WAIT = 'pulumi-nodejs:dynamic:Resource';
const TABLE_IAM = 'gcp:bigquery/iamMember:IamMember';
const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

describe('repository spec (one BigQuery consumer, archive-orders -> raw_orders)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh();
  });

  it('grants the Pub/Sub agent dataEditor on the subscription table only, nothing on the dataset', () => {
    expect(mesh.all(T.datasetIam).filter((g) => g.inputs.member === agentMember())).toEqual([]);
    const tableGrants = mesh.all(TABLE_IAM).filter((g) => g.inputs.member === agentMember());
    expect(tableGrants.map((g) => `${g.inputs.role} on ${g.inputs.datasetId}.${g.inputs.tableId}`)).toEqual([
      'roles/bigquery.dataEditor on event_mesh.raw_orders',
    ]);
    // Nothing else in BigQuery for the agent: not the events tables, not dead_letters.
    expect(mesh.all(TABLE_IAM).filter((g) => g.inputs.member === agentMember() && g.inputs.tableId !== 'raw_orders')).toEqual([]);
    expect(tableGrants[0].dependsOn).toEqual(expect.arrayContaining([`${T.table}::raw_orders`, `${T.agent}::pubsub-agent`]));
  });

  it('creates the BigQuery subscriptions only after grant -> wait', () => {
    const grant = mesh.all(TABLE_IAM).find((g) => g.inputs.tableId === 'raw_orders')!;
    const wait = mesh.all(WAIT).find((w) => w.name === 'pubsub-agent-bigquery-propagation')!;
    expect(wait.inputs).toMatchObject({ seconds: IAM_PROPAGATION_SECONDS, triggers: ['roles/bigquery.dataEditor on event_mesh.raw_orders'] });
    expect(wait.dependsOn).toContain(key(grant));
    for (const name of ['archive-orders', 'archive-orders-redrive']) {
      expect(mesh.one(T.subscription, name).dependsOn).toEqual(expect.arrayContaining([key(wait), key(grant), `${T.table}::raw_orders`]));
    }
    // Subscriptions that write no table do not wait for it.
    expect(mesh.one(T.subscription, 'warehouse-orders').dependsOn).not.toContain(key(wait));
  });

  it('waits after the API enablements, and everything else waits for that', () => {
    const wait = mesh.all(WAIT).find((w) => w.name === 'api-propagation')!;
    const apis = mesh.all(T.api);
    expect(wait.inputs).toMatchObject({ seconds: API_PROPAGATION_SECONDS, triggers: apis.map((a) => a.inputs.service) });
    expect(wait.dependsOn).toEqual(expect.arrayContaining(apis.map(key)));
    const others = mesh.resources.filter((r) => r.custom && r.type !== T.api && r !== wait);
    expect(others.length).toBeGreaterThan(100);
    for (const r of others) expect({ resource: key(r), dependsOn: r.dependsOn }).toEqual({ resource: key(r), dependsOn: expect.arrayContaining([key(wait)]) });
    // The project number lookup waits too (it needs the resource manager API).
    expect(mesh.run.invokes.some((i) => i.token === 'gcp:organizations/getProject:getProject')).toBe(true);
  });

  it('ships a provider with each wait (Pulumi runs it at create)', () => {
    for (const wait of mesh.all(WAIT)) expect(typeof wait.inputs.__provider).toBe('string');
  });
});

describe('spec without BigQuery consumers', () => {
  it('grants the agent nothing in BigQuery and waits for no IAM propagation', async () => {
    const mesh = await runMesh({
      'event-mesh:specFile': fixture('pull-exactly-once.yaml'),
      'event-mesh:images': { worker: 'europe-docker.pkg.dev/p/r/worker:1.2.3' },
    });
    expect(mesh.all(TABLE_IAM)).toEqual([]);
    expect(mesh.all(T.datasetIam).filter((g) => g.inputs.member === agentMember())).toEqual([]);
    // The other dynamic resources of the program are the topics' schema revisions (infra/schema-revisions.ts).
    expect(
      mesh
        .all(WAIT)
        .map((w) => w.name)
        .filter((n) => !n.endsWith('-schema-revisions')),
    ).toEqual(['api-propagation']);
  });
});

describe('BigQuery-only spec', () => {
  it('grants on its one table, and its subscription waits for that grant', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture('bigquery.yaml') });
    const grant = mesh.all(TABLE_IAM).map((g) => `${g.inputs.role} on ${g.inputs.datasetId}.${g.inputs.tableId} for ${g.inputs.member}`);
    expect(grant).toEqual([`roles/bigquery.dataEditor on fixture_bq.raw_analytics for ${agentMember()}`]);
    const wait = mesh.all(WAIT).find((w) => w.name === 'pubsub-agent-bigquery-propagation')!;
    expect(mesh.one(T.subscription, 'archive-analytics').dependsOn).toContain(key(wait));
  });
});
