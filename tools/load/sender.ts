/**
 * Sends demo traffic: most events through MeshPublisher, a share through the plain client exactly
 * as docs/producers.md tells a raw producer to, and poison with a deliberately broken envelope.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { MeshPublisher } from '../../shared/publisher';
import type { MeshSpec } from '../../shared/spec';
import type { Send } from './traffic';

/** Event times remembered for duplicates (the generator repeats only recent events). */
const REMEMBERED_TIMES = 10_000;

export class TrafficSender {
  private readonly publisher: MeshPublisher;
  private readonly rawTopics = new Map<string, Topic>();
  /** event id -> its ce-time: a duplicate is the same event sent again, so it keeps its time. */
  private readonly times = new Map<string, Date>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly spec: MeshSpec,
    source = '//mesh/load',
  ) {
    this.publisher = new MeshPublisher({ pubsub, spec, source });
  }

  /**
   * `time`: the event's ce-time (default now), e.g. to backfill into windows that already closed. A
   * duplicate keeps its event's first time, as a producer's retry does: the same id with another time
   * would be two events in the sinks' windows, not one sent twice.
   */
  async send(send: Send, requested: Date = new Date()): Promise<string> {
    const time = this.timeOf(send, requested);
    if (!send.raw) return (await this.publisher.publish(send.topic, send.type, send.data, { id: send.id, time })).messageId;
    const orderingKey = this.spec.topics[send.topic].orderingKeyField ? String(send.data[this.spec.topics[send.topic].orderingKeyField!]) : undefined;
    const attributes: Record<string, string> = {
      'ce-id': send.id,
      'ce-type': send.type,
      'ce-source': '//mesh/load/raw',
      'ce-specversion': '1.0',
      'ce-time': time.toISOString(),
      'content-type': 'application/json',
    };
    if (send.poison === 'missing-id') delete attributes['ce-id'];
    if (send.poison === 'unknown-type') attributes['ce-type'] = `${send.type}.bogus`;
    if (send.poison === 'bad-time') attributes['ce-time'] = 'last tuesday';
    const topic = this.rawTopic(send.topic);
    try {
      return await topic.publishMessage({ json: send.data, attributes, orderingKey });
    } catch (error) {
      if (orderingKey) topic.resumePublishing(orderingKey);
      throw error;
    }
  }

  private timeOf(send: Send, requested: Date): Date {
    if (send.kind === 'duplicate') return this.times.get(send.id) ?? requested;
    if (send.kind === 'event') {
      this.times.set(send.id, requested);
      if (this.times.size > REMEMBERED_TIMES) this.times.delete(this.times.keys().next().value!);
    }
    return requested;
  }

  /** The MeshPublisher's counts per topic (published, failed, rejected, throttled). */
  publishStats() {
    return this.publisher.stats();
  }

  async flush(): Promise<void> {
    await Promise.all([this.publisher.flush(), ...[...this.rawTopics.values()].map((t) => t.flush())]);
  }

  private rawTopic(name: string): Topic {
    let topic = this.rawTopics.get(name);
    if (!topic) this.rawTopics.set(name, (topic = this.pubsub.topic(name, { messageOrdering: Boolean(this.spec.topics[name].orderingKeyField) })));
    return topic;
  }
}
