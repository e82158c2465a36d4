/**
 * Consumer health in GCP, from Pub/Sub's own metrics in Cloud Monitoring (the same series the
 * alert policies in infra/monitoring.ts watch):
 *   subscription/num_undelivered_messages   -> backlog (and, on <c>-dlq-hold, dead letters; on <c>-redrive, the private path's)
 *   subscription/oldest_unacked_message_age -> lag (and the private path's, and the hold's oldest dead letter)
 */
import { MetricServiceClient } from '@google-cloud/monitoring';
import { consumerResources, subscriptionRetentionSeconds, triageSlaSeconds } from '../spec/names';
import type { MeshSpec } from '../spec/types';
import { judge, type ConsumerHealth, type HealthSource } from './types';

const METRIC = {
  backlog: 'pubsub.googleapis.com/subscription/num_undelivered_messages',
  oldest: 'pubsub.googleapis.com/subscription/oldest_unacked_message_age',
};

export class CloudMonitoringHealth implements HealthSource {
  constructor(
    private readonly spec: MeshSpec,
    private readonly projectId: string,
    private readonly client = new MetricServiceClient(),
  ) {}

  /** Latest point per subscription of one metric over the last 10 minutes. */
  private async latest(metric: string): Promise<Map<string, number>> {
    const now = Math.floor(Date.now() / 1000);
    const [series] = await this.client.listTimeSeries({
      name: `projects/${this.projectId}`,
      filter: `metric.type = "${metric}" AND resource.type = "pubsub_subscription"`,
      interval: { startTime: { seconds: now - 600 }, endTime: { seconds: now } },
      view: 'FULL',
    });
    const values = new Map<string, number>();
    for (const s of series) {
      const id = s.resource?.labels?.subscription_id;
      const point = s.points?.[0]?.value; // points come newest first
      if (id && point) values.set(id, Number(point.int64Value ?? point.doubleValue ?? 0));
    }
    return values;
  }

  async read(): Promise<ConsumerHealth[]> {
    const [backlog, oldest] = await Promise.all([this.latest(METRIC.backlog), this.latest(METRIC.oldest)]);
    return Object.values(this.spec.consumers).map((c) => {
      const names = consumerResources(c);
      const count = backlog.get(names.subscription) ?? 0;
      const held = backlog.get(names.deadLetterHold) ?? 0;
      const holdOldest = held ? (oldest.get(names.deadLetterHold) ?? null) : null;
      return judge({
        consumer: c.name,
        topic: c.topic,
        backlog: count,
        oldestUnackedSeconds: count ? (oldest.get(names.subscription) ?? null) : null,
        deadLettered: held,
        // Monitoring knows how many wait and the oldest's age, not why: `mesh dead-letters` says.
        hold: {
          held,
          oldestSeconds: holdOldest,
          triageSlaSeconds: triageSlaSeconds(c),
          pastSla: holdOldest !== null && holdOldest > triageSlaSeconds(c),
        },
        topicRetentionSeconds: this.spec.topics[c.topic]?.retentionSeconds,
        privatePath: {
          backlog: backlog.get(names.redriveSubscription) ?? 0,
          oldestUnackedSeconds: backlog.get(names.redriveSubscription) ? (oldest.get(names.redriveSubscription) ?? null) : null,
        },
        slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
        retentionSeconds: subscriptionRetentionSeconds(c),
        source: 'cloud-monitoring',
      });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
