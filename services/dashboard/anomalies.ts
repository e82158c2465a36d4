/**
 * The dashboard's order anomalies: per topic and kind, and the latest offending orders, read from
 * the processor's anomaly log with the shared reader (shared/firestore/anomalies.ts).
 *
 *   GET /api/anomalies?since=<ISO>|all&latest=<n>
 *     -> {at, kinds, since, total, counts: {<topic>: {<kind>: n}}, latest: [{topic, kind, orderId, reason, time, detectedAt ...}]}
 *
 * Default: the last 24 hours and the latest 10.
 * The page polls it every 5 s, and so does each open page, and `mesh status` calls it with `latest=3`.
 * With `kept` (the service), that default view (no `since`, `latest` up to KEPT_ANOMALIES_LATEST) is
 * answered from a read kept up to date in the background (shared/health/kept.ts), with its age
 * (`asOf`, `ageSeconds`): a request does no Firestore read, and a read that is slow or hangs makes
 * the answer older, not slower. Other queries are read on request: one read per query and `cacheMs`
 * serves them all (a read is one count() per topic and kind, plus `latest`).
 */
import type { Express, Request, Response } from 'express';
import { ANOMALY_KINDS } from '../../shared/anomalies';
import type { Logger } from '../../shared/consumer';
import type { AnomalyReport, ReadAnomaliesOptions } from '../../shared/firestore';
import type { KeptState } from '../../shared/health/kept';

export const ANOMALIES_PATH = '/api/anomalies';
export const DEFAULT_ANOMALY_PERIOD_MS = 24 * 3600_000;
/** The latest offending orders the kept default view holds (the page's default). */
export const KEPT_ANOMALIES_LATEST = 10;
/** Before the first kept read, a request waits at most this long for it, then answers 503. */
const FIRST_READ_WAIT_MS = 1000;

/** The default view kept up to date: the last DEFAULT_ANOMALY_PERIOD_MS, the latest KEPT_ANOMALIES_LATEST. */
export const keptAnomaliesRead =
  (read: (options: ReadAnomaliesOptions) => Promise<AnomalyReport>, now: () => number = Date.now) =>
  () =>
    read({ since: now() - DEFAULT_ANOMALY_PERIOD_MS, latest: KEPT_ANOMALIES_LATEST });

export interface AnomalyRouteDeps {
  /** readAnomalies on the service's Firestore. */
  read: (options: ReadAnomaliesOptions) => Promise<AnomalyReport>;
  log: Logger;
  now?: () => number;
  /** How long one read answers the same query; default 2000 ms. */
  cacheMs?: number;
  /** The default view kept up to date in the background (keptAnomaliesRead); without it every query is read on request. */
  kept?: KeptState<AnomalyReport>;
}

export interface AnomaliesResponse extends AnomalyReport {
  at: string;
  /** Every kind there is, for columns (counts list only those that occurred). */
  kinds: readonly string[];
}

export function anomalyRoutes(app: Express, deps: AnomalyRouteDeps): void {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 2000;
  const cache = new Map<string, { until: number; response: Promise<AnomaliesResponse> }>();

  app.get(ANOMALIES_PATH, async (req: Request, res: Response) => {
    const sinceText = typeof req.query.since === 'string' ? req.query.since : undefined;
    const latest = req.query.latest === undefined ? 10 : Number(req.query.latest);
    if (!Number.isInteger(latest) || latest < 0 || latest > 100) return void res.status(400).json({ error: 'latest must be an integer 0..100' });
    let since: number | undefined = now() - DEFAULT_ANOMALY_PERIOD_MS;
    if (sinceText === 'all') since = undefined;
    else if (sinceText !== undefined) {
      since = Date.parse(sinceText);
      if (!Number.isFinite(since)) return void res.status(400).json({ error: `since must be an ISO time or "all", got ${JSON.stringify(sinceText)}` });
    }
    if (deps.kept && sinceText === undefined && latest <= KEPT_ANOMALIES_LATEST) {
      if (!deps.kept.current) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([deps.kept.refresh(), new Promise((resolve) => (timer = setTimeout(resolve, FIRST_READ_WAIT_MS)))]);
        clearTimeout(timer);
      }
      const kept = deps.kept.current;
      const age = deps.kept.age();
      if (!kept) return void res.status(503).json({ error: 'could not read the anomalies yet: the first read is under way or failed', ...age });
      return void res.json({ at: age.asOf, kinds: ANOMALY_KINDS, ...kept.value, latest: kept.value.latest.slice(0, latest), ...age });
    }
    const key = `${sinceText ?? ''}|${latest}`;
    let entry = cache.get(key);
    if (!entry || entry.until <= now()) {
      // Every `since` is its own key: drop the expired ones so the map stays small.
      for (const [k, e] of cache) if (e.until <= now()) cache.delete(k);
      const at = new Date(now()).toISOString();
      const response = deps.read({ since, latest }).then((report) => ({ at, kinds: ANOMALY_KINDS, ...report }));
      entry = { until: now() + cacheMs, response };
      cache.set(key, entry);
      // A failed read is not kept: the next request tries again.
      response.catch(() => cache.get(key) === entry && cache.delete(key));
    }
    try {
      res.json(await entry.response);
    } catch (error) {
      deps.log.error({ err: error, path: req.path }, 'reading the anomalies failed');
      res.status(503).json({ error: `could not read the anomalies: ${(error as Error).message}` });
    }
  });
}
