/**
 * The whole mesh as one component: a pure function of (spec, stack config). Pieces, in dependency
 * order: APIs -> topics -> warehouse, Firestore -> service accounts, images, Cloud Run services ->
 * consumers (subscriptions, dead letters, redrive) -> the services' Pub/Sub grants -> monitoring.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { consumerResources, type MeshSpec } from '../shared/spec';
import { enableApis } from './apis';
import type { MeshConfig } from './config';
import { createConsumers, type MeshConsumer } from './consumers';
import type { MeshContext } from './context';
import { createFirestore, type MeshFirestore } from './firestore';
import { bindGrants, memberOf, pubsubAgentMember } from './iam';
import { serviceImages } from './images';
import { createMonitoring } from './monitoring';
import { serviceGrants } from './profiles';
import { createServiceAccounts, createServices, type MeshService } from './services';
import { createTopics, type MeshTopic } from './topics';
import { createWarehouse, type MeshWarehouse } from './warehouse';

export interface EventMeshArgs {
  /** Validated by loadSpec before anything is created. */
  spec: MeshSpec;
  config: MeshConfig;
}

export class EventMesh extends pulumi.ComponentResource {
  readonly topics: Record<string, MeshTopic>;
  readonly consumers: Record<string, MeshConsumer>;
  readonly services: Record<string, MeshService>;
  readonly warehouse: MeshWarehouse;
  readonly firestore: MeshFirestore;
  /** Cloud Run URL per service. */
  readonly serviceUrls: pulumi.Output<Record<string, string>>;
  readonly topicNames: pulumi.Output<string[]>;
  readonly datasetId: pulumi.Output<string>;

  constructor(name: string, args: EventMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super('event-mesh:index:EventMesh', name, {}, opts);
    const { spec, config } = args;
    const apis = enableApis(spec, config, this);
    const projectNumber = gcp.organizations.getProjectOutput({ projectId: config.project }, { parent: this, dependsOn: apis }).apply((p) => p.number);
    // Makes sure the Pub/Sub service agent exists before roles are bound to it (it is created lazily).
    const agentIdentity = new gcp.projects.ServiceIdentity('pubsub-agent', { project: config.project, service: 'pubsub.googleapis.com' }, { parent: this, dependsOn: apis });
    const ctx: MeshContext = { spec, config, parent: this, apis, projectNumber, pubsubAgent: pubsubAgentMember(projectNumber), pubsubAgentReady: [agentIdentity] };

    this.topics = createTopics(ctx);
    this.warehouse = createWarehouse(ctx);
    this.firestore = createFirestore(ctx);
    const accounts = createServiceAccounts(ctx);
    this.services = createServices(ctx, accounts, serviceImages(ctx), this.warehouse.dataset);
    this.consumers = createConsumers(ctx, this.topics, this.services, this.warehouse);

    // The services' Pub/Sub grants: subscriber on what they pull, publisher on their dead-letter topics.
    const subscriptions: Record<string, gcp.pubsub.Subscription> = {};
    const topics: Record<string, gcp.pubsub.Topic> = {};
    for (const c of Object.values(this.consumers)) {
      const names = consumerResources(c.spec);
      subscriptions[names.subscription] = c.subscription;
      subscriptions[names.redriveSubscription] = c.redriveSubscription;
      topics[names.deadLetterTopic] = c.deadLetterTopic;
    }
    for (const service of Object.values(this.services)) {
      const grants = serviceGrants(spec, service.spec.name).filter((g) => g.on.kind === 'subscription' || g.on.kind === 'topic');
      bindGrants(ctx, `${service.spec.name}-sa`, memberOf(service.accounts.runtime), grants, { subscriptions, topics });
    }
    createMonitoring(ctx);

    this.serviceUrls = pulumi.output(Object.fromEntries(Object.values(this.services).map((s) => [s.spec.name, s.service.uri])));
    this.topicNames = pulumi.output(Object.values(this.topics).map((t) => t.topic.name));
    this.datasetId = this.warehouse.dataset.datasetId;
    this.registerOutputs({ serviceUrls: this.serviceUrls, topicNames: this.topicNames, datasetId: this.datasetId });
  }
}
