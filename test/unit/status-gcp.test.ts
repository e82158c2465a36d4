/**
 * `mesh status --gcp`: a deployed stack's consumer health read from Cloud Monitoring, against a
 * listTimeSeries response in the documented shape (test/unit/fixtures/monitoring). GCP cannot exist
 * here: the Monitoring client is the one thing replaced, and the requests it gets are checked too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricServiceClient } from '@google-cloud/monitoring';
import { readGcpStatus, statusReport, deadLetterLines } from '../../tools/commands/status';
import { defaultSpec } from '../support/specs';

const RESPONSES = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'monitoring', 'list-time-series.json'), 'utf8')) as Record<string, unknown[]>;

function recordedClient() {
  const requests: { name: string; filter: string; interval: { startTime: { seconds: number }; endTime: { seconds: number } }; view: string }[] = [];
  const client = {
    listTimeSeries: async (request: (typeof requests)[number]) => {
      requests.push(request);
      const metric = /metric\.type = "([^"]+)"/.exec(request.filter)![1];
      return [RESPONSES[metric] ?? []];
    },
    close: async () => undefined,
  };
  return { client: client as unknown as MetricServiceClient, requests };
}

it('reads backlog, lag and the dead-letter holds of the deployed stack from Cloud Monitoring', async () => {
  const spec = defaultSpec();
  const { client, requests } = recordedClient();
  const status = await readGcpStatus(spec, 'my-event-mesh-dev', client);

  // Two metrics of every Pub/Sub subscription of the project, over the last 10 minutes.
  expect(requests.map((r) => r.filter).sort()).toEqual([
    'metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.type = "pubsub_subscription"',
    'metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age" AND resource.type = "pubsub_subscription"',
  ]);
  for (const r of requests) {
    expect(r.name).toBe('projects/my-event-mesh-dev');
    expect(r.interval.endTime.seconds - r.interval.startTime.seconds).toBe(600);
  }

  const orders = status.consumers.find((c) => c.consumer === 'processor-orders')!;
  expect(orders.counters).toBeNull();
  expect(orders.health).toMatchObject({
    backlog: 1200,
    oldestUnackedSeconds: 311040, // the newest point, 3.6 days
    deadLettered: 3,
    hold: { held: 3, oldestSeconds: 18000, triageSlaSeconds: 4 * 3600, pastSla: true },
    source: 'cloud-monitoring',
    breached: true,
    pastHalfTopicRetention: true, // 3.6 d of the orders topic's 7 d
    bufferAtRisk: false, // 51 % of its 7 d subscription retention
  });
  expect(orders.health!.hold!.topReasons).toBeUndefined(); // Monitoring does not know why
  expect(status.consumers.find((c) => c.consumer === 'warehouse-orders')!.health).toMatchObject({ backlog: 40, oldestUnackedSeconds: 30, deadLettered: 0 });
  // A subscription with nothing waiting has no lag, whatever its last age point says.
  expect(status.consumers.find((c) => c.consumer === 'dashboard-orders')!.health).toMatchObject({ backlog: 0, oldestUnackedSeconds: null });

  const report = statusReport(status);
  expect(report.rows.find((r) => r[0] === 'processor-orders')).toEqual(expect.arrayContaining(['1200', '311040.0', '51% of 7 d', 'BREACHED']));
  expect(report.lines).toContain(
    "WARNING: processor-orders: its oldest unacked message is older than half the topic's 7 d retention: a replay from the topic can soon no longer cover its gap",
  );
  expect(deadLetterLines(status)).toEqual([
    'processor-orders: 3 dead letter(s) held, oldest 5.0 h of its 4 h triage SLA (PAST SLA); triage: npm run mesh -- dead-letters processor-orders',
  ]);
});
