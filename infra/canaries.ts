/**
 * A canary deployment per entry of the stack's `event-mesh:canaries` ({image, share} per consumer):
 *
 *   <c>-canary  Cloud Run service: the consumer's service from the canary image, as the canary of <c>
 *               only (MESH_CANARY_OF), with the service's own runtime account (the same access to
 *               Firestore, BigQuery and dead-letter topics; the build changes, not the identity)
 *   <c>-canary  subscription on the consumer's topic, filtered to the canary's buckets AND the
 *               consumer's filter, with the consumer's delivery settings and dead-letter topic; a push
 *               consumer's pushes to the canary service with the push account's OIDC token
 *
 * Deploying it changes nothing yet: until `mesh canary start <c> --gcp` records the canary running
 * (shared/canary/control.ts), every message is the stable side's and the canary service acks its
 * subscription empty. While it runs, the stable side skips the canary's buckets and judges it; ending
 * it returns every bucket at once. Dropping the entry from the config (and `pulumi up`) removes both.
 *
 * A separate service rather than a tagged revision of the consumer's service: a tag pins a revision
 * by name, which a program cannot know before the stable revision is deployed, and pushes to the tag
 * URL would still run under the service's traffic settings; a second service is declarative, and the
 * filtered subscription does the split (by key, not by request as a traffic split would).
 *
 * The stable service's account also gets what following a canary needs: datastore.user (its side's
 * reports and the end transaction; it may only read Firestore otherwise), and the canary's
 * subscription. It is not granted what giving the canary's messages back needs (publishing to the
 * redrive topic is for replay operators only, infra/operators.ts): `mesh canary abort --gcp` does that.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { canarySubscriptionFilter } from '../shared/canary/lifecycle';
import { consumerResources, pushPath } from '../shared/spec';
import { canaryServiceName } from './canary-config';
import { consumerLabels, deliverySettings, type MeshConsumer } from './consumers';
import { resourceOptions, type MeshContext } from './context';
import { bindGrants, memberOf } from './iam';
import type { Grant } from './profiles';
import { createCloudRunService, type MeshService } from './services';
import type { MeshTopic } from './topics';

export interface MeshCanary {
  consumer: string;
  service: MeshService;
  subscription: gcp.pubsub.Subscription;
}

export function createCanaries(
  ctx: MeshContext,
  topics: Record<string, MeshTopic>,
  consumers: Record<string, MeshConsumer>,
  services: Record<string, MeshService>,
): Record<string, MeshCanary> {
  const canaries: Record<string, MeshCanary> = {};
  for (const [name, deployment] of Object.entries(ctx.config.canaries)) {
    const consumer = ctx.spec.consumers[name];
    const stable = services[consumer.service!];
    const { deadLetterTopic } = consumers[name];
    const names = consumerResources(consumer);
    const serviceName = canaryServiceName(name);
    const runtime = memberOf(stable.accounts.runtime);
    const who = `${name}-canary`;
    // Reports and the end transaction (shared/canary/control.ts); a service that uses Firestore has datastore.user already.
    const firestoreGrants = stable.spec.uses.includes('firestore')
      ? []
      : bindGrants(
          ctx,
          `${who}-sa`,
          runtime,
          [{ role: 'roles/datastore.user', on: { kind: 'project' }, reason: "writes its side's canary reports, ends a canary past its threshold" }],
          {},
        );
    const extraEnv = [
      { name: 'MESH_CANARY_OF', value: name },
      { name: 'MESH_CANARIES', value: 'on' },
    ];
    const subscriptionArgs = {
      ...deliverySettings(ctx, consumer, deadLetterTopic),
      name: names.canarySubscription,
      topic: topics[consumer.topic].topic.id,
      filter: canarySubscriptionFilter(consumer, deployment.share),
      labels: consumerLabels(consumer)('canary'),
    };
    let service: MeshService;
    let subscription: gcp.pubsub.Subscription;
    if (consumer.delivery === 'pull') {
      subscription = new gcp.pubsub.Subscription(
        names.canarySubscription,
        subscriptionArgs,
        resourceOptions(ctx, topics[consumer.topic].topic, deadLetterTopic),
      );
      const pullGrant = bindGrants(
        ctx,
        `${who}-sa`,
        runtime,
        [{ role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.canarySubscription }, reason: `pulls ${name} as its canary` }],
        { subscriptions: { [names.canarySubscription]: subscription } },
      );
      service = createCloudRunService(ctx, {
        name: serviceName,
        spec: stable.spec,
        accounts: stable.accounts,
        image: deployment.image,
        runtimeGrants: [...stable.runtimeGrants, ...firestoreGrants, ...pullGrant],
        extraEnv,
        pulls: true,
        deletionProtection: false,
      });
    } else {
      service = createCloudRunService(ctx, {
        name: serviceName,
        spec: stable.spec,
        accounts: stable.accounts,
        image: deployment.image,
        runtimeGrants: [...stable.runtimeGrants, ...firestoreGrants],
        extraEnv,
        pulls: false,
        deletionProtection: false,
      });
      subscription = new gcp.pubsub.Subscription(
        names.canarySubscription,
        {
          ...subscriptionArgs,
          pushConfig: {
            pushEndpoint: pulumi.interpolate`${service.uri}${pushPath(name)}`,
            oidcToken: { serviceAccountEmail: stable.accounts.push!.email, audience: service.uri },
          },
        },
        resourceOptions(ctx, topics[consumer.topic].topic, deadLetterTopic, service.service, ...(service.invoker ? [service.invoker] : [])),
      );
    }
    // Without these Pub/Sub's dead-letter policy does nothing on the canary subscription (consumers.ts).
    const agentGrants: Grant[] = [
      { role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.canarySubscription }, reason: 'acks what it dead-letters' },
    ];
    bindGrants(
      ctx,
      `${who}-pubsub-agent`,
      ctx.pubsubAgent,
      agentGrants,
      { subscriptions: { [names.canarySubscription]: subscription } },
      ...ctx.pubsubAgentReady,
    );
    canaries[name] = { consumer: name, service, subscription };
  }
  return canaries;
}
