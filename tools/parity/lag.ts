/**
 * How far behind each consumer is, which decides what parity may judge (context.ts): in GCP from
 * Cloud Monitoring (the series the lag alerts watch); locally from the dashboard's health view (the
 * emulators keep no metrics; the dashboard keeps the equivalent from its tap subscriptions).
 */
import { CloudMonitoringHealth } from '../../shared/health/cloud-monitoring';
import type { ConsumerHealth } from '../../shared/health/types';
import { localServiceUrls } from '../../shared/local/services';
import type { MeshSpec } from '../../shared/spec';
import type { SmokeTarget } from '../smoke/target';
import { DASHBOARD_HEALTH_PATH } from '../commands/status';
import type { ConsumerLag } from './context';

export interface LagReading {
  lag?: ConsumerLag;
  /** Why the lag is unknown (runParity says that windows are then judged as if drained). */
  unknownBecause?: string;
}

export function lagOf(health: Pick<ConsumerHealth, 'consumer' | 'oldestUnackedSeconds' | 'backlog'>[]): ConsumerLag {
  // A backlog whose age is not known yet counts as published now: not drained.
  return new Map(health.map((h) => [h.consumer, h.backlog > 0 ? (h.oldestUnackedSeconds ?? 0) : null]));
}

export async function readLag(spec: MeshSpec, target: SmokeTarget, dashboardUrl = localServiceUrls(spec).dashboard): Promise<LagReading> {
  try {
    if (target.kind === 'gcp') {
      const health = new CloudMonitoringHealth(spec, target.project);
      try {
        return { lag: lagOf(await health.read()) };
      } finally {
        await health.close();
      }
    }
    if (!dashboardUrl) return { unknownBecause: 'the spec has no dashboard service' };
    const response = await fetch(`${dashboardUrl}${DASHBOARD_HEALTH_PATH}`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { consumers: ConsumerHealth[] };
    return { lag: lagOf(body.consumers) };
  } catch (error) {
    return { unknownBecause: (error as Error).message };
  }
}
