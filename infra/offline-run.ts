/**
 * Runs the real program (infra/index.ts) against Pulumi's mock engine instead of a deployment:
 * the Pulumi CLI and the providers are not needed, nothing reaches GCP, and every resource the
 * program registers is recorded with its inputs. The unit tests and `mesh plan` both use it.
 *
 * The mocks play GCP's part for computed outputs, the way GCP forms them (ids, service account
 * emails, Cloud Run URLs, image refs), so inputs derived from them look real.
 *
 * The program is loaded with require() after setMocks, so a second run in the same process needs a
 * fresh module registry (jest.resetModules()); `mesh plan` runs it once per process.
 */
import { createHash } from 'node:crypto';
import type * as pulumiTypes from '@pulumi/pulumi';

export interface MockedResource {
  /** Pulumi type token, e.g. gcp:pubsub/subscription:Subscription. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  inputs: Record<string, any>;
  /** Inputs plus the outputs the mock computed. */
  state: Record<string, any>;
  id: string;
  custom: boolean;
  /** `type::name` of the resources it explicitly depends on (opts.dependsOn) and of its parent. */
  dependsOn: string[];
  parent?: string;
  /** Resource options that change what the engine does with it. */
  retainOnDelete?: boolean;
  ignoreChanges?: string[];
}

export interface OfflineRun {
  resources: MockedResource[];
  invokes: { token: string; inputs: Record<string, any> }[];
  /** The stack outputs (exports of infra/index.ts), resolved. */
  outputs: Record<string, unknown>;
}

export interface OfflineRunOptions {
  /** Stack config, fully qualified keys: { 'gcp:project': 'p', 'event-mesh:specFile': '/abs/mesh.yaml' }. */
  config: Record<string, unknown>;
  stack?: string;
  /** What getProject returns as the project number. */
  projectNumber?: string;
  /** Consumers paused in the project (infra/paused.ts); offline nothing is read from GCP. Default none. */
  paused?: readonly string[];
}

export const PULUMI_PROJECT = 'event-mesh';
export const MOCK_PROJECT_NUMBER = '123456789012';

export async function runProgramOffline(options: OfflineRunOptions): Promise<OfflineRun> {
  // Loaded here, not at the top, so that the program below sees this very instance of the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi = require('@pulumi/pulumi') as typeof pulumiTypes;
  // The SDK keeps its runtime state on `global`; start each run from a clean one.
  (globalThis as { globalStore?: unknown }).globalStore = undefined;

  const project = String(options.config['gcp:project'] ?? 'offline-project');
  const region = String(options.config['gcp:region'] ?? 'us-central1');
  const projectNumber = options.projectNumber ?? MOCK_PROJECT_NUMBER;
  const run: OfflineRun = { resources: [], invokes: [], outputs: {} };
  const options_ = new Map<string, Pick<MockedResource, 'dependsOn' | 'parent' | 'retainOnDelete' | 'ignoreChanges'>>();

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const { id, state } = mockState(args.type, args.name, args.inputs, { project, region, projectNumber });
        const opts = options_.get(key(args.type, args.name)) ?? { dependsOn: [] };
        run.resources.push({ type: args.type, name: args.name, inputs: args.inputs, state, id, custom: args.custom !== false, ...opts });
        return { id, state };
      },
      call(args) {
        run.invokes.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case 'gcp:organizations/getProject:getProject':
            return { projectId: args.inputs.projectId ?? project, number: projectNumber, name: project };
          case 'gcp:organizations/getClientConfig:getClientConfig':
            return { accessToken: 'offline-access-token', project, region };
          default:
            return {};
        }
      },
    },
    PULUMI_PROJECT,
    options.stack ?? 'dev',
    false, // not a preview: outputs the mocks return resolve, the rest resolve to undefined
  );
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(options.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])));

  // The root stack resource, as the language host creates it, so that a stack transformation can see
  // every resource's options (they never reach the mocks; `transforms` would throw under mocks).
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const refs = (value: unknown): string[] =>
        (Array.isArray(value) ? value : value ? [value] : []).filter((r) => pulumi.Resource.isInstance(r)).map(resourceKey);
      const { retainOnDelete, ignoreChanges } = args.opts as pulumiTypes.CustomResourceOptions;
      options_.set(key(args.type, args.name), {
        dependsOn: refs(args.opts.dependsOn),
        parent: args.opts.parent ? resourceKey(args.opts.parent) : undefined,
        retainOnDelete,
        ignoreChanges,
      });
      return undefined;
    });
    return {};
  });
  // The program itself runs outside the stack's init so that a failure is a plain exception here.
  // index.ts exports an async function (Pulumi calls it with no argument and reads the paused consumers
  // from GCP); offline it is given them.
  let program: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require('./index') as Record<string, unknown> | ((given: { paused: readonly string[] }) => Promise<Record<string, unknown>>);
    program = typeof entry === 'function' ? await entry({ paused: options.paused ?? [] }) : entry;
  } catch (error) {
    await pulumi.runtime.disconnect();
    // With what was registered before the failure (nothing, when validation did its job).
    throw Object.assign(error as Error, { offlineRun: run });
  }
  for (const [name, value] of Object.entries(program)) {
    run.outputs[name] = pulumi.Output.isInstance(value) ? await new Promise((resolve) => value.apply(resolve)) : value;
  }
  await pulumi.runtime.disconnect(); // waits for every registration to reach the mocks
  return run;
}

const key = (type: string, name: string) => `${type}::${name}`;
/** The SDK keeps a resource's type and name on internal fields. */
const resourceKey = (resource: unknown) => {
  const r = resource as { __pulumiType?: string; __name?: string };
  return key(r.__pulumiType ?? '?', r.__name ?? '?');
};

interface MockContext {
  project: string;
  region: string;
  projectNumber: string;
}

/** Outputs as GCP would compute them, for the types whose outputs the program reads. */
export function mockState(type: string, logicalName: string, inputs: Record<string, any>, ctx: MockContext): { id: string; state: Record<string, any> } {
  const project = inputs.project ?? ctx.project;
  const name = inputs.name ?? logicalName;
  const state: Record<string, any> = { ...inputs, project };
  const done = (id: string, extra: Record<string, any> = {}) => ({ id, state: { ...state, ...extra } });
  switch (type) {
    case 'gcp:pubsub/topic:Topic':
      return done(`projects/${project}/topics/${name}`, { name });
    case 'gcp:pubsub/subscription:Subscription':
      return done(`projects/${project}/subscriptions/${name}`, { name });
    case 'gcp:pubsub/schema:Schema':
      return done(`projects/${project}/schemas/${name}`, { name });
    case 'pulumi-nodejs:dynamic:Resource':
      // SchemaRevisions (infra/schema-revisions-resource.ts): Pub/Sub gives each commit an opaque
      // revision id; here one derived from the schema and the definition, so it is stable across runs.
      if (Array.isArray(inputs.revisions) && typeof inputs.schema === 'string') {
        const revisionIds = Object.fromEntries(
          inputs.revisions.map((r: { name: string; definition: string }) => [r.name, hash(`${inputs.schema}\n${r.definition}`).slice(0, 8)]),
        );
        return done(`${inputs.schema}/revisions`, { revisionIds });
      }
      return done(`${logicalName}-id`);
    case 'gcp:serviceaccount/account:Account': {
      const email = `${inputs.accountId}@${project}.iam.gserviceaccount.com`;
      const id = `projects/${project}/serviceAccounts/${email}`;
      return done(id, { email, name: id, member: `serviceAccount:${email}`, uniqueId: hash(email).slice(0, 21) });
    }
    case 'gcp:projects/serviceIdentity:ServiceIdentity': {
      const email = `service-${ctx.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
      return done(`projects/${project}/services/${inputs.service}`, { email, member: `serviceAccount:${email}` });
    }
    case 'gcp:cloudrunv2/service:Service': {
      const uri = `https://${name}-${ctx.projectNumber}.${inputs.location}.run.app`;
      return done(`projects/${project}/locations/${inputs.location}/services/${name}`, { name, uri, urls: [uri] });
    }
    case 'gcp:bigquery/dataset:Dataset':
      return done(`projects/${project}/datasets/${inputs.datasetId}`);
    case 'gcp:bigquery/table:Table':
      return done(`projects/${project}/datasets/${inputs.datasetId}/tables/${inputs.tableId}`);
    case 'gcp:firestore/database:Database':
      return done(`projects/${project}/databases/${name}`, { name });
    case 'gcp:artifactregistry/repository:Repository':
      return done(`projects/${project}/locations/${inputs.location}/repositories/${inputs.repositoryId}`, { name: inputs.repositoryId });
    case 'gcp:monitoring/notificationChannel:NotificationChannel': {
      // The channel id is a number GCP assigns; name = id = the full name alert policies take.
      const id = `projects/${project}/notificationChannels/${BigInt(`0x${hash(logicalName).slice(0, 12)}`).toString()}`;
      return done(id, { name: id });
    }
    case 'docker-build:index:Image': {
      const digest = `sha256:${hash(JSON.stringify(inputs))}`;
      return done(`${logicalName}-image`, { digest, ref: `${inputs.tags?.[0] ?? logicalName}@${digest}` });
    }
    default:
      return done(`${logicalName}-id`);
  }
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
