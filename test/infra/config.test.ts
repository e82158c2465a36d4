/** Stack config parsing and its checks against the spec; pure, no Pulumi engine involved. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSpec } from '../../shared/spec';
import { configProblems, ingressFor, loadMeshInputs, MeshConfigError, parseMeshConfig, scalingFor } from '../../infra/config';
import { accountId } from '../../infra/iam';
import { serviceGrants } from '../../infra/profiles';
import { fixture, REPO } from './harness';

const spec = loadSpec(path.join(REPO, 'mesh.yaml'));

describe('parseMeshConfig', () => {
  it('fills documented defaults', () => {
    const config = parseMeshConfig({ project: 'p' });
    expect(config).toEqual({
      project: 'p',
      region: 'us-central1',
      specFile: path.join(REPO, 'mesh.yaml'), // ../mesh.yaml relative to infra/
      deletionProtection: true,
      alertChannels: [],
      scaling: {},
      ingress: {},
      images: {},
      imageRepository: 'event-mesh',
      firestoreLocation: 'us-central1',
      dashboardViewers: [],
      dashboardAccess: 'iam',
      replayOperators: [],
      ignorePausedState: false,
      canaries: {},
    });
  });

  it('reads ignorePausedState as a boolean only', () => {
    expect(parseMeshConfig({ project: 'p', ignorePausedState: true }).ignorePausedState).toBe(true);
    expect(() => parseMeshConfig({ project: 'p', ignorePausedState: 'yes' as never })).toThrow('event-mesh:ignorePausedState must be true or false, got "yes"');
  });

  it('resolves specFile against infra/, expands bare channel ids and maps ingress names', () => {
    const config = parseMeshConfig({
      project: 'p',
      region: 'europe-west4',
      specFile: '../test/infra/fixtures/bigquery.yaml',
      alertChannels: ['9', 'projects/q/notificationChannels/8'],
      ingress: { dashboard: 'internal', processor: 'all' },
    });
    expect(config.specFile).toBe(fixture('bigquery.yaml'));
    expect(config.alertChannels).toEqual(['projects/p/notificationChannels/9', 'projects/q/notificationChannels/8']);
    expect(config.ingress).toEqual({ dashboard: 'INGRESS_TRAFFIC_INTERNAL_ONLY', processor: 'INGRESS_TRAFFIC_ALL' });
    expect(config.firestoreLocation).toBe('europe-west4');
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      parseMeshConfig({ ingress: { dashboard: 'public' }, scaling: { processor: { minInstances: -1, max: 3 } as never } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as MeshConfigError).problems).toEqual([
      'gcp:project is required: pulumi config set gcp:project <project-id>',
      'event-mesh:scaling.processor.minInstances must be a whole number >= 0',
      'event-mesh:scaling.processor: unknown key "max" (minInstances, maxInstances)',
      'event-mesh:ingress.dashboard must be internal, internal-and-cloud-load-balancing or all, got "public"',
    ]);
  });
});

describe('per-service settings', () => {
  it('scales pulling services from one instance, others from zero, with overrides', () => {
    const config = parseMeshConfig({ project: 'p', scaling: { default: { maxInstances: 4 }, dashboard: { minInstances: 2 } } });
    expect(scalingFor(config, spec, 'dashboard')).toEqual({ minInstances: 2, maxInstances: 4 });
    expect(scalingFor(config, spec, 'processor')).toEqual({ minInstances: 1, maxInstances: 4 });
    expect(configProblems(config, spec)).toEqual([]);
  });

  it('defaults the dashboard to load-balancer ingress and everything else to internal', () => {
    const config = parseMeshConfig({ project: 'p' });
    expect(ingressFor(config, 'dashboard')).toBe('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER');
    expect(ingressFor(config, 'warehouse')).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
  });

  it('opens the dashboard ingress to its viewers (IAM still checks them), unless ingress is configured', () => {
    const viewers = parseMeshConfig({
      project: 'p',
      dashboardViewers: ['user:a@x.com', 'group:g@x.com', 'domain:x.com', 'serviceAccount:s@p.iam.gserviceaccount.com'],
    });
    expect(viewers.dashboardViewers).toHaveLength(4);
    expect(ingressFor(viewers, 'dashboard')).toBe('INGRESS_TRAFFIC_ALL');
    expect(ingressFor(viewers, 'processor')).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(ingressFor(parseMeshConfig({ project: 'p', dashboardViewers: ['user:a@x.com'], ingress: { dashboard: 'internal' } }), 'dashboard')).toBe(
      'INGRESS_TRAFFIC_INTERNAL_ONLY',
    );
  });

  it('refuses viewers that are not named principals and unknown access modes', () => {
    expect(() => parseMeshConfig({ project: 'p', dashboardViewers: ['allUsers', 'allAuthenticatedUsers', 'a@x.com'], dashboardAccess: 'oauth' })).toThrow(
      MeshConfigError,
    );
    try {
      parseMeshConfig({ project: 'p', dashboardViewers: ['allUsers', 'a@x.com'], dashboardAccess: 'oauth' });
    } catch (error) {
      expect((error as MeshConfigError).problems).toEqual([
        'event-mesh:dashboardViewers: "allUsers" is not a principal (user:, group:, domain: or serviceAccount:<email or domain>)',
        'event-mesh:dashboardViewers: "a@x.com" is not a principal (user:, group:, domain: or serviceAccount:<email or domain>)',
        'event-mesh:dashboardAccess must be iam or iap, got "oauth"',
      ]);
    }
  });

  it('refuses IAP on a dashboard that receives push (Google: Pub/Sub behind IAP might fail)', () => {
    const config = parseMeshConfig({ project: 'p', dashboardViewers: ['user:a@x.com'], dashboardAccess: 'iap' });
    expect(configProblems(config, spec)).toEqual([
      'event-mesh:dashboardAccess: iap would put IAP in front of Pub/Sub push to dashboard (dashboard-analytics, dashboard-orders), which Google documents may then fail; use iam, or make those consumers pull',
    ]);
    expect(configProblems(parseMeshConfig({ project: 'p', dashboardViewers: ['user:a@x.com'] }), spec)).toEqual([]);
  });

  it('refuses unknown services and a pulling service at zero instances', () => {
    const config = parseMeshConfig({
      project: 'p',
      scaling: { warehouse: { minInstances: 0 }, dashbaord: { maxInstances: 1 } },
      images: { procesor: 'x' },
      ingress: { dashboard: 'all' },
    });
    expect(configProblems(config, spec)).toEqual([
      'event-mesh:scaling.dashbaord: unknown service (services: dashboard, processor, warehouse)',
      'event-mesh:images.procesor: unknown service (services: dashboard, processor, warehouse)',
      'event-mesh:scaling.warehouse: minInstances must be at least 1 because warehouse pulls (warehouse-analytics, warehouse-orders) and nothing would wake it at 0',
    ]);
  });

  it('gives the warehouse no BigQuery project role: it runs no BigQuery job (insertAll and table metadata are dataset permissions)', () => {
    const grants = serviceGrants(spec, 'warehouse');
    // Its one project role reads its pull consumers' controls in Firestore (it does not use firestore).
    expect(grants.filter((g) => g.on.kind === 'project').map((g) => g.role)).toEqual(['roles/datastore.viewer']);
    expect(grants.map((g) => g.role)).not.toContain('roles/bigquery.jobUser');
    expect(grants.filter((g) => g.on.kind === 'dataset').map((g) => g.role)).toEqual(['roles/bigquery.dataEditor']);
    // The premise, checked on the code: no query, load, copy or extract job anywhere in the service.
    // If one appears, it needs roles/bigquery.jobUser back in infra/profiles.ts.
    const dir = path.join(REPO, 'services', 'warehouse');
    const source = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    expect(
      source.match(
        /\b(createQueryJob|createLoadJob|createCopyJob|createExtractJob|createJob|bigquery\.query|\.query\(|(?<!TopicSchemas)\.load\(|\.copy\(|\.extract\()/g,
      ) ?? [],
    ).toEqual([]);
  });

  it('derives each service grant from its consumers plus its profile', () => {
    expect(serviceGrants(spec, 'processor').map((g) => `${g.role} ${g.on.kind}${'name' in g.on ? ` ${g.on.name}` : ''}`)).toEqual([
      'roles/datastore.user project',
      'roles/pubsub.publisher topic processor-analytics-dlq',
      'roles/pubsub.subscriber subscription processor-orders',
      'roles/pubsub.subscriber subscription processor-orders-redrive',
      'roles/pubsub.publisher topic processor-orders-dlq',
    ]);
  });

  it("lets a pulling service read its consumers' controls: datastore.viewer unless it uses firestore", () => {
    const viewer = (service: string) => serviceGrants(spec, service).filter((g) => g.role === 'roles/datastore.viewer');
    expect(viewer('warehouse')).toEqual([{ role: 'roles/datastore.viewer', on: { kind: 'project' }, reason: expect.stringContaining('controls') }]);
    expect(viewer('processor')).toEqual([]); // pulls, and datastore.user (uses: firestore) reads them
    expect(viewer('dashboard')).toEqual([]); // push only
  });

  it('makes valid service account ids of any service name', () => {
    expect(accountId('mesh-processor')).toBe('mesh-processor');
    expect(accountId('mesh-a')).toBe('mesh-a');
    const long = accountId('mesh-a-very-long-service-name-indeed-push');
    expect(long).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(long).not.toBe(accountId('mesh-a-very-long-service-name-indeed-other'));
  });
});

describe('loadMeshInputs', () => {
  it('fails with the spec loader message when the spec is missing', () => {
    expect(() => loadMeshInputs({ project: 'p', specFile: fixture('no-such-spec.yaml') })).toThrow(/no-such-spec\.yaml \(document\): cannot read spec/);
  });

  it('returns the spec and config when both are fine', () => {
    const { spec: loaded, config } = loadMeshInputs({ project: 'p', specFile: fixture('bigquery.yaml') });
    expect(Object.keys(loaded.consumers)).toEqual(['archive-analytics']);
    expect(config.project).toBe('p');
  });
});
