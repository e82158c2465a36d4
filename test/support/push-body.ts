/**
 * What Pub/Sub push POSTs for one published message, for the tests and benches that play Pub/Sub
 * against a push endpoint: GCP's wrapped body, {message: {data (base64), attributes, messageId,
 * message_id, publishTime, publish_time, orderingKey}, subscription, deliveryAttempt}. Built by the
 * local push relay's own builder (shared/consumer's wrapPushBody, which the endpoint's parser reads
 * back), so what a test sends and what the relay sends cannot drift apart.
 */
import { wrapPushBody } from '../../shared/consumer';
import type { OutgoingMessage } from '../../shared/envelope';

export interface PushDelivery {
  /** The full path: projects/<project>/subscriptions/<name>. */
  subscription: string;
  /** Default '1'. */
  messageId?: string;
  /** Default now. */
  publishTime?: Date;
  /** GCP sends it only when the subscription has a dead-letter policy; left out unless given. */
  deliveryAttempt?: number;
}

/** The JSON text of the wrapped push of `message` (as toPubsubMessage() publishes it). */
export function pushBody(message: OutgoingMessage, delivery: PushDelivery): string {
  const { subscription, messageId = '1', publishTime = new Date(), deliveryAttempt } = delivery;
  return wrapPushBody(
    { data: message.data, attributes: message.attributes, orderingKey: message.orderingKey, messageId, publishTime, deliveryAttempt },
    subscription,
  );
}

/** projects/<project>/subscriptions/<subscription>. */
export const subscriptionPath = (project: string, subscription: string) => `projects/${project}/subscriptions/${subscription}`;
