/**
 * Opening the deployed dashboard (issue 16): viewers from stack config, reached through Cloud Run IAM
 * (default) or IAP on the service itself. The program runs under mocks; what GCP does with it is from
 * Google's docs (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run): IAP calls
 * the service as the IAP service agent, which needs run.invoker, and Pub/Sub push behind IAP "might fail".
 */
import { MOCK_PROJECT_NUMBER } from '../../infra/offline-run';
import { failMesh, fixture, Mesh, PROJECT, runMesh, T } from './harness';

jest.setTimeout(60_000);

const VIEWERS = ['user:ana@example.com', 'group:ops@example.com'];
const sa = (name: string) => `serviceAccount:${name}@${PROJECT}.iam.gserviceaccount.com`;
const iapAgent = `serviceAccount:service-${MOCK_PROJECT_NUMBER}@gcp-sa-iap.iam.gserviceaccount.com`;

describe('without viewers (default)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({});
  });

  it('keeps the dashboard behind load-balancer ingress, invokable by its push account only', () => {
    const run = mesh.one(T.run, 'dashboard');
    expect(run.inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER');
    expect(run.inputs.iapEnabled).toBeUndefined();
    expect(
      mesh
        .all(T.runIam)
        .filter((g) => g.inputs.name === 'dashboard')
        .map((g) => g.inputs.member),
    ).toEqual([sa('mesh-dashboard-push')]);
    expect(mesh.all(T.iapIam)).toEqual([]);
  });
});

describe('viewers through Cloud Run IAM (dashboardAccess iam)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:dashboardViewers': VIEWERS });
  });

  it('lets viewers invoke the dashboard, reachable from their machines (ingress all, still IAM-checked)', () => {
    const run = mesh.one(T.run, 'dashboard');
    expect(run.inputs.ingress).toBe('INGRESS_TRAFFIC_ALL');
    expect(run.inputs.iapEnabled).toBeUndefined();
    const invokers = mesh.all(T.runIam).filter((g) => g.inputs.name === 'dashboard');
    expect(invokers.map((g) => `${g.inputs.role} ${g.inputs.member}`).sort()).toEqual(
      [`roles/run.invoker ${sa('mesh-dashboard-push')}`, ...VIEWERS.map((v) => `roles/run.invoker ${v}`)].sort(),
    );
    for (const g of invokers) expect(g.dependsOn).toContain(`${T.run}::dashboard`);
    // Nothing public, and the other services are unchanged.
    expect(JSON.stringify(mesh.resources.map((r) => r.inputs))).not.toMatch(/allUsers|allAuthenticatedUsers/);
    expect(mesh.one(T.run, 'processor').inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
  });

  it('keeps an explicit ingress', async () => {
    const explicit = await runMesh({ 'event-mesh:dashboardViewers': VIEWERS, 'event-mesh:ingress': { dashboard: 'internal-and-cloud-load-balancing' } });
    expect(explicit.one(T.run, 'dashboard').inputs.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER');
  });
});

describe('viewers through IAP (dashboardAccess iap, dashboard without push)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({
      'event-mesh:specFile': fixture('dashboard-pull.yaml'),
      'event-mesh:dashboardViewers': VIEWERS,
      'event-mesh:dashboardAccess': 'iap',
    });
  });

  it('enables IAP on the service with ingress all', () => {
    expect(mesh.one(T.run, 'dashboard').inputs).toMatchObject({ iapEnabled: true, ingress: 'INGRESS_TRAFFIC_ALL' });
  });

  it('grants viewers IAP access, and the IAP service agent (only) run.invoker', () => {
    expect(
      mesh
        .all(T.iapIam)
        .map((g) => `${g.inputs.role} ${g.inputs.cloudRunServiceName} ${g.inputs.location} ${g.inputs.member}`)
        .sort(),
    ).toEqual(VIEWERS.map((v) => `roles/iap.httpsResourceAccessor dashboard us-central1 ${v}`).sort());
    expect(mesh.all(T.runIam).map((g) => `${g.inputs.role} ${g.inputs.name} ${g.inputs.member}`)).toEqual([`roles/run.invoker dashboard ${iapAgent}`]);
  });

  it('enables the IAP API and creates its service agent before the service', () => {
    expect(mesh.one(T.api, 'api-iap').inputs).toMatchObject({ service: 'iap.googleapis.com', disableOnDestroy: false });
    expect(mesh.one(T.agent, 'iap-agent').inputs.service).toBe('iap.googleapis.com');
    // Enabled with the other APIs, so the agent waits for API propagation (apis.ts) like everything else.
    expect([...mesh.dependenciesOf(mesh.one(T.agent, 'iap-agent'))]).toEqual(
      expect.arrayContaining([`${T.api}::api-iap`, 'pulumi-nodejs:dynamic:Resource::api-propagation']),
    );
    expect([...mesh.dependenciesOf(mesh.one(T.run, 'dashboard'))]).toEqual(expect.arrayContaining([`${T.api}::api-iap`, `${T.agent}::iap-agent`]));
  });
});

describe('bad dashboard config', () => {
  it('refuses viewers that are not named principals (allUsers included)', async () => {
    const error = await failMesh({ 'event-mesh:dashboardViewers': ['ana@example.com', 'allUsers'], 'event-mesh:dashboardAccess': 'iap' });
    expect(error.message).toContain('event-mesh:dashboardViewers: "ana@example.com" is not a principal');
    expect(error.message).toContain('event-mesh:dashboardViewers: "allUsers" is not a principal');
  });

  it('refuses IAP while Pub/Sub pushes to the dashboard', async () => {
    const error = await failMesh({ 'event-mesh:dashboardViewers': VIEWERS, 'event-mesh:dashboardAccess': 'iap' });
    expect(error.message).toMatch(
      /event-mesh:dashboardAccess: iap would put IAP in front of Pub\/Sub push to dashboard \(dashboard-analytics, dashboard-orders\)/,
    );
    expect(error.offlineRun?.resources.filter((r) => r.custom)).toEqual([]);
  });

  it('refuses viewers when the spec has no dashboard', async () => {
    const error = await failMesh({ 'event-mesh:specFile': fixture('ordered-push.yaml'), 'event-mesh:dashboardViewers': VIEWERS });
    expect(error.message).toContain('event-mesh:dashboardViewers: the spec has no dashboard service');
  });
});
