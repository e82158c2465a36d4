/** The push benches' body: one real analytics event, in the wrapped form Pub/Sub POSTs to a push endpoint. */
import type { PubSub } from '@google-cloud/pubsub';
import { toPubsubMessage } from '../shared/envelope';
import { MeshPublisher } from '../shared/publisher';
import { consumerResources, type MeshSpec } from '../shared/spec';
import { pushBody, subscriptionPath } from '../test/support/push-body';

/** A real analytics event as MeshPublisher would send it, wrapped as pushed to `consumer`'s subscription. */
export function analyticsPushBody(spec: MeshSpec, consumer: string): string {
  const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//web/frontend' });
  const { event, orderingKey } = publisher.prepare('analytics', 'view', {
    userId: 'u-12345',
    sessionId: 's-8f14e45fceea167a',
    page: '/posts/p-42',
    element: '',
    postId: 'p-42',
    country: 'DE',
    durationMs: 5400,
  });
  const subscription = subscriptionPath(spec.project, consumerResources({ name: consumer }).subscription);
  return pushBody(toPubsubMessage(event, orderingKey), { subscription, messageId: '11223344556677' });
}
