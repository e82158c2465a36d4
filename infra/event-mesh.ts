/**
 * The whole mesh as one component: a pure function of (spec, stack config, paused consumers). Pieces,
 * in dependency order: APIs -> topics -> warehouse, Firestore -> service accounts -> what the services
 * read and write (dead-letter and redrive topics, pull and BigQuery subscriptions) -> the services'
 * grants on it -> images, Cloud Run services -> push subscriptions (their endpoint is a service; no
 * push config for a paused push consumer) -> the canaries the stack deploys -> the owners' notification channels -> monitoring (lag,
 * buffer and dead-letter triage alerts, publish failures, retries, half the topic's retention, the
 * schema dead-letter and anomaly metrics and their alerts; each routed to its owner) ->
 * the scheduled parity job, its metric and its alert.
 * A service never starts before the grants it needs exist; IAM propagation may still take minutes.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { consumerResources, type MeshSpec } from '../shared/spec';
import { createAnomalyAlerting } from './anomalies';
import { enableApis } from './apis';
import { createBufferAlerts } from './buffer-alerts';
import { createCanaries } from './canaries';
import type { MeshConfig } from './config';
import { createConsumersBeforeServices, createPushConsumers, grantTargetsOf, pausedPushConsumers, type MeshConsumer } from './consumers';
import type { MeshContext } from './context';
import { createFirestore, type MeshFirestore } from './firestore';
import { pubsubAgentMember } from './iam';
import { meshImages } from './images';
import { createMonitoring } from './monitoring';
import { createOwnerChannels, unownedWarning, type AlertingContext } from './owners';
import { createParityControl } from './parity';
import { createReplayOperators } from './operators';
import { createSchemaDeadLetterAlerts } from './schema-dead-letters';
import { createServiceAccounts, createServices, type MeshService } from './services';
import { createSignalAlerts } from './signal-alerts';
import { createTopics, type MeshTopic } from './topics';
import { createTriageAlerts } from './triage-alerts';
import { createWarehouse, type MeshWarehouse } from './warehouse';

export interface EventMeshArgs {
  /** Validated by loadSpec before anything is created. */
  spec: MeshSpec;
  config: MeshConfig;
  /**
   * Consumers paused in the deployed project (infra/paused.ts reads them for `pulumi up`; offline runs
   * pass them). A paused push consumer stays without push config; other names change nothing.
   */
  paused: readonly string[];
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
    const agentIdentity = new gcp.projects.ServiceIdentity(
      'pubsub-agent',
      { project: config.project, service: 'pubsub.googleapis.com' },
      { parent: this, dependsOn: apis },
    );
    const ctx: MeshContext = {
      spec,
      config,
      parent: this,
      apis,
      projectNumber,
      pubsubAgent: pubsubAgentMember(projectNumber),
      pubsubAgentReady: [agentIdentity],
      pausedPush: pausedPushConsumers(spec, args.paused),
    };

    this.topics = createTopics(ctx);
    this.warehouse = createWarehouse(ctx);
    this.firestore = createFirestore(ctx);
    const accounts = createServiceAccounts(ctx);
    const early = createConsumersBeforeServices(ctx, this.topics, this.warehouse);
    const images = meshImages(ctx);
    this.services = createServices(ctx, accounts, images.services, { dataset: this.warehouse.dataset, ...grantTargetsOf(early) });
    this.consumers = createPushConsumers(ctx, this.topics, early, this.services);
    createCanaries(ctx, this.topics, this.consumers, this.services);
    const alerting: AlertingContext = {
      ...ctx,
      owners: createOwnerChannels(ctx, Object.fromEntries(Object.values(this.topics).map((t) => [t.spec.name, t.topic]))),
    };
    const unowned = unownedWarning(spec, config);
    if (unowned) void pulumi.log.warn(unowned);
    createMonitoring(alerting);
    createBufferAlerts(alerting);
    createTriageAlerts(alerting);
    createSignalAlerts(alerting);
    createSchemaDeadLetterAlerts(alerting);
    createAnomalyAlerting(alerting);
    createParityControl(alerting, images.parity, {
      dataset: this.warehouse.dataset,
      tables: this.warehouse.tables,
      subscriptions: Object.fromEntries(Object.values(this.consumers).map((c) => [consumerResources(c.spec).deadLetterHold, c.deadLetterHold])),
    });

    createReplayOperators(ctx, {
      dataset: this.warehouse.dataset,
      tables: this.warehouse.tables,
      topics: Object.fromEntries(Object.values(this.consumers).map((c) => [consumerResources(c.spec).redriveTopic, c.redriveTopic])),
      subscriptions: Object.fromEntries(Object.values(this.consumers).map((c) => [consumerResources(c.spec).deadLetterHold, c.deadLetterHold])),
    });

    this.serviceUrls = pulumi.output(Object.fromEntries(Object.values(this.services).map((s) => [s.spec.name, s.service.uri])));
    this.topicNames = pulumi.output(Object.values(this.topics).map((t) => t.topic.name));
    this.datasetId = this.warehouse.dataset.datasetId;
    this.registerOutputs({ serviceUrls: this.serviceUrls, topicNames: this.topicNames, datasetId: this.datasetId });
  }
}
