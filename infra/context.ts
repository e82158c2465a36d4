/**
 * What every piece of the mesh needs to create its resources: the spec, the stack config, the
 * parent component and the API enablement everything waits for.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { MeshSpec } from '../shared/spec';
import type { MeshConfig } from './config';

export interface MeshContext {
  spec: MeshSpec;
  config: MeshConfig;
  /** The EventMesh component: every resource is its child. */
  parent: pulumi.Resource;
  /** gcp.projects.Service per API; a resource created before its API is enabled fails. */
  apis: pulumi.Resource[];
  projectNumber: pulumi.Output<string>;
  /** IAM member of the Pub/Sub service agent (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com). */
  pubsubAgent: pulumi.Output<string>;
  /** Resources that must exist before anything binds roles to the Pub/Sub agent. */
  pubsubAgentReady: pulumi.Resource[];
  /** Push consumers `mesh pause` left paused: their subscriptions get no push config (consumers.ts). */
  pausedPush: ReadonlySet<string>;
}

/** Options for a resource of the mesh: child of the component, after the APIs and any extra dependencies. */
export function resourceOptions(ctx: MeshContext, ...dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions {
  return { parent: ctx.parent, dependsOn: [...ctx.apis, ...dependsOn] };
}

/** Labels on everything the mesh owns, so it can be found and filtered in the console and billing. */
export const meshLabels = (extra: Record<string, string> = {}): Record<string, string> => ({ 'managed-by': 'event-mesh', ...extra });

/** Label values: lowercase letters, digits, _ and -, at most 63 characters. */
export const labelValue = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
