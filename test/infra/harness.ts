/**
 * Runs infra/index.ts under Pulumi's mocks and gives the tests a way to look at what it created.
 *
 * The Pulumi engine is mocked (pulumi.runtime.setMocks, inside infra/offline-run.ts) because it
 * cannot run here: no Pulumi CLI, no provider plugins, no GCP. The mocks compute outputs the way GCP
 * does (ids, emails, Cloud Run URLs), so inputs derived from them can be checked for real.
 */
import * as path from 'node:path';
import type { MockedResource, OfflineRun } from '../../infra/offline-run';
import { policies } from '../../infra/policy/policies';

export const REPO = path.resolve(__dirname, '..', '..');
export const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
export const PROJECT = 'mesh-test';

/**
 * The policy pack's verdict on a high-impact topic missing these launch checklist items
 * (infra/launch-readiness.ts), as Mesh.policyViolations prints it (`prefix` is the resource name).
 */
export const launchViolation = (topic: string, ids: string[], prefix = `${topic} `) =>
  `${prefix}high-impact-topic-launch-ready: high-impact topic ${topic} is not launch ready: ${ids.join(', ')} not met; run \`npm run mesh -- readiness --topic ${topic}\` for what is missing and how to fix it`;

export const T = {
  api: 'gcp:projects/service:Service',
  schema: 'gcp:pubsub/schema:Schema',
  topic: 'gcp:pubsub/topic:Topic',
  subscription: 'gcp:pubsub/subscription:Subscription',
  topicIam: 'gcp:pubsub/topicIAMMember:TopicIAMMember',
  subscriptionIam: 'gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember',
  projectIam: 'gcp:projects/iAMMember:IAMMember',
  datasetIam: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
  bigqueryIam: 'gcp:bigquery/iamMember:IamMember',
  iapIam: 'gcp:iap/webCloudRunServiceIamMember:WebCloudRunServiceIamMember',
  runIam: 'gcp:cloudrunv2/serviceIamMember:ServiceIamMember',
  accountIam: 'gcp:serviceaccount/iAMMember:IAMMember',
  account: 'gcp:serviceaccount/account:Account',
  run: 'gcp:cloudrunv2/service:Service',
  image: 'docker-build:index:Image',
  registry: 'gcp:artifactregistry/repository:Repository',
  dataset: 'gcp:bigquery/dataset:Dataset',
  table: 'gcp:bigquery/table:Table',
  firestore: 'gcp:firestore/database:Database',
  firestoreField: 'gcp:firestore/field:Field',
  firestoreIndex: 'gcp:firestore/index:Index',
  alert: 'gcp:monitoring/alertPolicy:AlertPolicy',
  dashboard: 'gcp:monitoring/dashboard:Dashboard',
  channel: 'gcp:monitoring/notificationChannel:NotificationChannel',
  agent: 'gcp:projects/serviceIdentity:ServiceIdentity',
} as const;

export const agentMember = (number = '123456789012') => `serviceAccount:service-${number}@gcp-sa-pubsub.iam.gserviceaccount.com`;

export class Mesh {
  constructor(readonly run: OfflineRun) {}

  get resources(): MockedResource[] {
    return this.run.resources;
  }

  all(type: string): MockedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The resource of `type` whose GCP name (or logical name) is `name`; fails loudly when missing. */
  one(type: string, name: string): MockedResource {
    const found = this.all(type).filter((r) => (r.inputs.name ?? r.inputs.accountId ?? r.inputs.tableId ?? r.name) === name);
    if (found.length !== 1)
      throw new Error(
        `expected one ${type} named ${name}, found ${found.length} (have: ${this.all(type)
          .map((r) => r.inputs.name ?? r.name)
          .join(', ')})`,
      );
    return found[0];
  }

  find(type: string, name: string): MockedResource | undefined {
    return this.all(type).find((r) => (r.inputs.name ?? r.inputs.accountId ?? r.inputs.tableId ?? r.name) === name);
  }

  /**
   * What the policy pack (infra/policy/policies.ts) reports on these resources (default: every custom
   * one), as `<policy>: <message>`; `config` is the policy config (e.g. {allowUnprotected: true}).
   */
  async policyViolations(resources = this.resources.filter((r) => r.custom), config: Record<string, unknown> = {}): Promise<string[]> {
    const violations: string[] = [];
    for (const r of resources)
      for (const policy of policies)
        for (const validate of [policy.validateResource ?? []].flat()) {
          const args = { type: r.type, name: r.name, urn: `urn:${r.type}::${r.name}`, props: r.inputs, getConfig: () => config };
          await validate(args as never, (message) => violations.push(`${r.name} ${policy.name}: ${message}`));
        }
    return violations;
  }

  /** Every IAM member resource as `role on target`, for one member. */
  grantsOf(member: string): string[] {
    return this.resources
      .filter((r) => /iam(member|binding)/i.test(r.type) && r.inputs.member === member)
      .map((r) => `${r.inputs.role} on ${target(r)}`)
      .sort();
  }

  /** Every member holding `role` on subscription `name`. */
  subscriptionMembers(name: string, role: string): string[] {
    return this.resources
      .filter((r) => /iam(member|binding)/i.test(r.type) && r.inputs.role === role && target(r) === `subscription ${name}`)
      .map((r) => String(r.inputs.member))
      .sort();
  }

  /** The IAM member of a Cloud Run service's runtime account. */
  serviceAccountMember(service: string): string {
    return `serviceAccount:${this.accountEmail(`mesh-${service}`)}`;
  }

  /** Full names (= ids under the mocks) of the notification channels the stack made for an owner, in registration order. */
  channelsOf(owner: string): string[] {
    return this.all(T.channel)
      .filter((r) => r.inputs.userLabels?.['mesh-owner'] === owner)
      .map((r) => r.id);
  }

  accountEmail(accountId: string): string {
    return this.one(T.account, accountId).state.email;
  }

  /** `type::name` of a resource, as in dependsOn. */
  static key(r: MockedResource): string {
    return `${r.type}::${r.name}`;
  }

  /**
   * Everything `r` waits for before it is created: explicit dependsOn, followed transitively. (Inputs
   * that are outputs of other resources order them too; the program also lists those in dependsOn.)
   */
  dependenciesOf(r: MockedResource): Set<string> {
    const byKey = new Map(this.resources.map((x) => [Mesh.key(x), x]));
    const seen = new Set<string>();
    const visit = (k: string) => {
      for (const d of byKey.get(k)?.dependsOn ?? []) {
        if (!seen.has(d)) {
          seen.add(d);
          visit(d);
        }
      }
    };
    visit(Mesh.key(r));
    return seen;
  }

  /** A cycle in dependsOn, if any (the engine would wait forever on one). */
  findCycle(): string[] | undefined {
    const byKey = new Map(this.resources.map((x) => [Mesh.key(x), x]));
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (k: string): string[] | undefined => {
      if (state.get(k) === 'done') return undefined;
      if (state.get(k) === 'open') return [...stack.slice(stack.indexOf(k)), k];
      state.set(k, 'open');
      stack.push(k);
      for (const d of byKey.get(k)?.dependsOn ?? []) {
        const cycle = visit(d);
        if (cycle) return cycle;
      }
      stack.pop();
      state.set(k, 'done');
      return undefined;
    };
    for (const k of byKey.keys()) {
      const cycle = visit(k);
      if (cycle) return cycle;
    }
    return undefined;
  }
}

function target(r: MockedResource): string {
  const p = r.inputs;
  if (p.subscription) return `subscription ${String(p.subscription).split('/').pop()}`;
  if (p.topic) return `topic ${String(p.topic).split('/').pop()}`;
  if (p.tableId) return `table ${p.datasetId}.${p.tableId}`;
  if (p.datasetId) return `dataset ${p.datasetId}`;
  if (p.serviceAccountId) return `account ${String(p.serviceAccountId).split('/').pop()}`;
  if (p.cloudRunServiceName) return `iap ${p.cloudRunServiceName}`;
  if (r.type.startsWith('gcp:cloudrunv2/')) return `run ${p.name}`;
  return `project ${p.project}`;
}

/**
 * Runs the program once with this stack config (gcp:project defaults to mesh-test) and these paused
 * consumers (default none: the program reads them from GCP only under `pulumi up`). Each call gets a
 * fresh module registry, so the program really runs again.
 */
export async function runMesh(config: Record<string, unknown> = {}, options: { paused?: string[] } = {}): Promise<Mesh> {
  jest.resetModules();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runProgramOffline } = require('../../infra/offline-run') as typeof import('../../infra/offline-run');
  return new Mesh(await runProgramOffline({ config: { 'gcp:project': PROJECT, ...config }, paused: options.paused }));
}

/** Runs the program expecting it to fail; returns the error (with what had been registered). */
export async function failMesh(config: Record<string, unknown>): Promise<Error & { offlineRun?: OfflineRun }> {
  try {
    await runMesh(config);
  } catch (error) {
    return error as Error & { offlineRun?: OfflineRun };
  }
  throw new Error('expected the program to fail');
}
