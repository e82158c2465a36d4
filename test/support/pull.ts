import type { Message, PubSub } from '@google-cloud/pubsub';

/** Receives `count` messages from a subscription (StreamingPull), acking each, or fails after timeoutMs. */
export async function receive(pubsub: PubSub, subscription: string, count: number, timeoutMs = 15000): Promise<Message[]> {
  const sub = pubsub.subscription(subscription, { flowControl: { maxMessages: 1000 } });
  const received: Message[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages from ${subscription} in ${timeoutMs} ms`)), timeoutMs);
      sub.on('error', reject);
      sub.on('message', (m: Message) => {
        m.ack();
        received.push(m);
        if (received.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await sub.close();
  }
  return received;
}
