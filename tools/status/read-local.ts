/**
 * What `mesh status` reads from the local mesh: every service's /stats and the dashboard's health,
 * hot keys and anomalies, all at once with a timeout per call, plus what `npm start`'s supervisor
 * recorded. tools/commands/status.ts prints it.
 */
import * as http from 'node:http';
import type { StatsSnapshot, ConsumerCounters } from '../../shared/consumer/stats';
import type { CanarySnapshot } from '../../shared/canary/runtime';
import type { AnomalyReport } from '../../shared/firestore';
import type { ConsumerHealth } from '../../shared/health/types';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import { localServiceUrls } from '../../shared/local/services';
import { readEmulatorStates, readServiceStates, type ServiceStateRecord, type SupervisedStateRecord } from '../../shared/local/supervisor';
import { subscriptionRetentionSeconds, type MeshSpec } from '../../shared/spec';
/** Where the dashboard serves its consumer health (services/dashboard). */
export const DASHBOARD_HEALTH_PATH = '/api/health';
/** Where the dashboard serves the hottest ordering keys per topic (shared/health/hot-keys.ts). */
export const DASHBOARD_HOT_KEYS_PATH = '/api/hot-keys';
/** Where the dashboard serves the order anomalies of the last 24 hours (services/dashboard/anomalies.ts). */
export const DASHBOARD_ANOMALIES_PATH = '/api/anomalies';

export interface ConsumerStatus {
  consumer: string;
  topic: string;
  delivery: string;
  service: string | null;
  /** From the service's /stats; null when the service is not running. */
  counters: ConsumerCounters | null;
  /**
   * From the dashboard's health (tap subscriptions locally, Cloud Monitoring in GCP, paused from the
   * consumer controls); null if unavailable.
   */
  health: Pick<
    ConsumerHealth,
    | 'backlog'
    | 'oldestUnackedSeconds'
    | 'deadLettered'
    | 'slo'
    | 'breached'
    | 'state'
    | 'source'
    | 'privatePath'
    | 'paused'
    | 'retentionSeconds'
    | 'bufferAtRisk'
    | 'hold'
    | 'pastHalfTopicRetention'
    | 'topicRetentionSeconds'
  > | null;
}

export interface MeshStatus {
  at: string;
  services: Record<
    string,
    {
      url: string;
      /** Its /stats answered. */
      up: boolean;
      error?: string;
      /** Its /stats did not answer within the call timeout (the service may be running, but busy). */
      timedOut?: boolean;
      /** What `npm start`'s supervisor recorded (shared/local/supervisor.ts): restarts and the last exit. */
      supervisor?: Pick<ServiceStateRecord, 'state' | 'pid' | 'restarts' | 'lastExit'>;
    }
  >;
  /** What `npm start`'s supervisor recorded for the emulators (pubsub, firestore); absent when it wrote nothing. */
  emulators?: Record<string, Pick<SupervisedStateRecord, 'state' | 'pid' | 'restarts' | 'lastExit'>>;
  consumers: ConsumerStatus[];
  /** Order anomalies per topic and kind, last 24 hours, from the dashboard; null if unavailable. */
  anomalies: AnomalyReport | null;
  /** The hottest ordering keys per topic, from the dashboard; null if unavailable. */
  hotKeys: TopicHotKeys[] | null;
  /**
   * How old the dashboard's health reading is (it keeps one up to date in the background and answers
   * from it): when it was taken and its age in seconds when read; absent if unavailable.
   */
  healthAge?: { asOf: string | null; ageSeconds: number | null };
  /** Canaries running now, by consumer, as the stable services report them (local only). */
  canaries?: Record<string, Pick<CanarySnapshot, 'canaryId' | 'share' | 'since'>>;
}

/**
 * How long `mesh status` waits for each call (every service's /stats, the dashboard's health, hot keys
 * and anomalies, all at once): a service that does not answer in time is shown as unavailable, and
 * the rest is printed; the command never hangs on a busy mesh.
 */
export const STATUS_CALL_TIMEOUT_MS = 1500;
/**
 * The default of readMeshStatus for callers other than the command (tests, parity, the canary): they
 * wait for an answer rather than print "unavailable" from a busy CI machine.
 */
export const READ_STATUS_TIMEOUT_MS = 5000;

export interface ReadMeshStatusOptions {
  /** Per call; default READ_STATUS_TIMEOUT_MS (`mesh status` passes STATUS_CALL_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** What a call that did not answer in time reports. */
export const timeoutMessage = (timeoutMs: number) => `unavailable (timeout: no answer within ${timeoutMs / 1000} s)`;

/**
 * GET `url`'s JSON body, headers and body within `timeoutMs`. node:http rather than fetch: fetch
 * loads undici on first use, ~60 ms of CPU, a third of what `mesh status` costs as a new process
 * (docs/performance.md, "mesh status under load").
 */
function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise<T>((resolve, reject) => {
    const fail = (error: Error) => reject(signal.aborted ? new CallTimeout(timeoutMessage(timeoutMs)) : error);
    const request = http.get(url, { signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status >= 300) return reject(new Error(`${url}: HTTP ${status}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (error) {
          reject(new Error(`${url}: not JSON (${(error as Error).message})`));
        }
      });
    });
    request.on('error', fail);
  });
}

class CallTimeout extends Error {}

/**
 * Reads every service's counters and the dashboard's health view of every consumer, all calls at
 * once, each given `timeoutMs`: what does not answer in time is reported unavailable (timeout), the
 * rest is returned.
 */
export async function readMeshStatus(
  spec: MeshSpec,
  urls: Record<string, string> = localServiceUrls(spec),
  options: ReadMeshStatusOptions = {},
): Promise<MeshStatus> {
  const timeoutMs = options.timeoutMs ?? READ_STATUS_TIMEOUT_MS;
  const services: MeshStatus['services'] = {};
  const counters = new Map<string, ConsumerCounters>();
  const canaries: NonNullable<MeshStatus['canaries']> = {};
  const health = new Map<string, ConsumerHealth>();
  let anomalies: AnomalyReport | null = null;
  let hotKeys: TopicHotKeys[] | null = null;
  let healthAge: MeshStatus['healthAge'];
  const dashboardErrors: string[] = [];
  const reads = Object.keys(spec.services).map(async (name) => {
    const url = urls[name];
    try {
      const stats = await getJson<StatsSnapshot>(`${url}/stats`, timeoutMs);
      for (const [consumer, c] of Object.entries(stats.consumers)) counters.set(consumer, c);
      const running = Object.entries((stats.sections?.canary ?? {}) as Record<string, CanarySnapshot>).filter(([, c]) => c.running && c.side === 'stable');
      for (const [consumer, c] of running) canaries[consumer] = { canaryId: c.canaryId, share: c.share, since: c.since };
      services[name] = { url, up: true };
    } catch (error) {
      services[name] = { url, up: false, error: (error as Error).message, ...(error instanceof CallTimeout ? { timedOut: true } : {}) };
    }
  });
  // The dashboard's views are asked beside its /stats, not after: a slow /stats must not delay them.
  if (urls.dashboard && spec.services.dashboard) {
    const base = urls.dashboard;
    reads.push(
      getJson<ConsumerHealth[] | { consumers: ConsumerHealth[]; at?: string | null; asOf?: string | null; ageSeconds?: number | null }>(
        `${base}${DASHBOARD_HEALTH_PATH}`,
        timeoutMs,
      ).then(
        (body) => {
          for (const h of Array.isArray(body) ? body : body.consumers) health.set(h.consumer, h);
          if (!Array.isArray(body) && body.ageSeconds !== undefined) healthAge = { asOf: body.asOf ?? body.at ?? null, ageSeconds: body.ageSeconds };
        },
        (error: Error) => void dashboardErrors.push(`health: ${error.message}`),
      ),
      getJson<{ topics: TopicHotKeys[] }>(`${base}${DASHBOARD_HOT_KEYS_PATH}`, timeoutMs).then(
        (body) => void (hotKeys = body.topics),
        (error: Error) => void dashboardErrors.push(`hot keys: ${error.message}`),
      ),
      getJson<AnomalyReport>(`${base}${DASHBOARD_ANOMALIES_PATH}?latest=3`, timeoutMs).then(
        (body) => void (anomalies = body),
        (error: Error) => void dashboardErrors.push(`anomalies: ${error.message}`),
      ),
    );
  }
  await Promise.all(reads);
  // A dashboard that is not reachable at all says so once; one that answers says which of its views did not.
  if (services.dashboard && dashboardErrors.length && (services.dashboard.up || services.dashboard.timedOut)) {
    services.dashboard.error = [...(services.dashboard.error ? [`stats: ${services.dashboard.error}`] : []), ...dashboardErrors.sort()].join('; ');
  }
  const supervised = readServiceStates(spec.local.dataDir) ?? {};
  for (const [name, record] of Object.entries(supervised)) {
    if (services[name]) services[name].supervisor = { state: record.state, pid: record.pid, restarts: record.restarts, lastExit: record.lastExit };
  }
  const emulatorStates = readEmulatorStates(spec.local.dataDir);
  const emulators = emulatorStates
    ? Object.fromEntries(Object.entries(emulatorStates).map(([name, r]) => [name, { state: r.state, pid: r.pid, restarts: r.restarts, lastExit: r.lastExit }]))
    : undefined;
  return {
    at: new Date().toISOString(),
    services,
    ...(emulators ? { emulators } : {}),
    anomalies,
    hotKeys,
    ...(healthAge ? { healthAge } : {}),
    ...(Object.keys(canaries).length ? { canaries } : {}),
    consumers: Object.values(spec.consumers).map((c) => {
      const h = health.get(c.name);
      return {
        consumer: c.name,
        topic: c.topic,
        delivery: c.delivery,
        service: c.service ?? null,
        counters: counters.get(c.name) ?? null,
        health: h
          ? {
              backlog: h.backlog,
              oldestUnackedSeconds: h.oldestUnackedSeconds,
              deadLettered: h.deadLettered,
              privatePath: h.privatePath,
              slo: h.slo,
              breached: h.breached,
              state: h.state,
              source: h.source,
              // A dashboard older than the buffer policy sends neither: the spec knows the retention.
              retentionSeconds: h.retentionSeconds ?? subscriptionRetentionSeconds(c),
              bufferAtRisk: h.bufferAtRisk ?? false,
              pastHalfTopicRetention: h.pastHalfTopicRetention ?? false,
              ...(h.topicRetentionSeconds ? { topicRetentionSeconds: h.topicRetentionSeconds } : {}),
              ...(h.hold ? { hold: h.hold } : {}),
              ...(h.paused ? { paused: h.paused } : {}),
            }
          : null,
      };
    }),
  };
}
