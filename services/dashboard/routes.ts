/**
 * The page and the JSON API behind it (docs/dashboard.md lists the endpoints):
 *
 *   GET /                       the live page (public/), chart.js served from node_modules at /vendor
 *   GET /api/snapshot           everything the page shows
 *   GET /api/windows?granularity=minute|hour&since=<ISO>   windows from `since` (default: the last 30 / 24)
 *   GET /api/top-posts?granularity=minute|hour&window=<key>&n=10
 *   GET /api/health             latest consumer health, with SLOs (and each consumer's dead-letter hold)
 *   GET /api/hot-keys           the hottest ordering keys per topic over the last minute (shared/health/hot-keys.ts)
 *
 * /api/health, /api/hot-keys (and /api/anomalies' default view) answer from state kept up to date in
 * the background (health.ts's monitor, shared/health/kept.ts), with its age (`asOf`, `ageSeconds`):
 * a request does no I/O, so they answer on a busy mesh, which is when an operator calls them.
 *   GET /api/stream             server-sent events: `snapshot` every second
 *   GET /api/anomalies          order anomalies per topic and kind, latest offending orders (anomalies.ts)
 *   GET /catalog, /catalog.json the event catalog: the spec's AsyncAPI document and its page (catalog.ts)
 */
import * as path from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from '../../shared/consumer';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import type { KeptState } from '../../shared/health/kept';
import type { LiveFeed } from './live';
import type { DashboardReader } from './reader';
import type { SnapshotBuilder } from './snapshot';
import { isGranularity, windowSizeMs } from './windows';

export const PUBLIC_DIR = path.join(__dirname, 'public');
/** chart.js's UMD build; the package's `exports` hides dist/, so it is found next to its main file. */
export const CHART_JS_FILE = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');

export interface RouteDeps {
  reader: DashboardReader;
  snapshots: SnapshotBuilder;
  live: LiveFeed;
  /** The hottest ordering keys per topic, refreshed in the background. */
  hotKeys: KeptState<TopicHotKeys[]>;
  log: Logger;
  now?: () => number;
}

class BadRequest extends Error {}

export function dashboardRoutes(app: Express, deps: RouteDeps): void {
  // snapshots and live are read per request: the app builds them after the service (which calls this).
  const { reader, log } = deps;
  const json = (fn: (req: Request) => Promise<unknown>) => async (req: Request, res: Response) => {
    try {
      res.json(await fn(req));
    } catch (error) {
      if (error instanceof BadRequest) return void res.status(400).json({ error: error.message });
      log.error({ err: error, path: req.path }, 'dashboard API request failed');
      res.status(503).json({ error: `could not read the aggregates: ${(error as Error).message}` });
    }
  };
  const granularityOf = (req: Request) => {
    const g = req.query.granularity ?? 'minute';
    if (!isGranularity(g)) throw new BadRequest(`granularity must be minute or hour, got ${JSON.stringify(g)}`);
    return g;
  };

  app.get(
    '/api/snapshot',
    json(() => deps.snapshots.get()),
  );
  app.get(
    '/api/windows',
    json(async (req) => {
      const granularity = granularityOf(req);
      let since = Date.now() - (granularity === 'minute' ? 29 : 23) * windowSizeMs(granularity);
      if (req.query.since !== undefined) {
        since = Date.parse(String(req.query.since));
        if (!Number.isFinite(since)) throw new BadRequest(`since must be an ISO time, got ${JSON.stringify(req.query.since)}`);
      }
      return { granularity, windows: await reader.windows(granularity, since) };
    }),
  );
  app.get(
    '/api/top-posts',
    json(async (req) => {
      const granularity = granularityOf(req);
      const window = typeof req.query.window === 'string' ? req.query.window : (await deps.snapshots.get()).current[granularity].window;
      const n = Number(req.query.n ?? 10);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new BadRequest('n must be an integer 1..100');
      return { granularity, window, posts: await reader.topPosts(granularity, window, n) };
    }),
  );
  // From what the health monitor keeps (health.ts): no I/O, whatever the emulators or Firestore do.
  app.get('/api/health', (_req, res) => {
    const { source, latest } = deps.snapshots.healthNow();
    const at = latest?.at ?? null;
    const ageSeconds = at === null ? null : Math.max(0, Math.round(((deps.now ?? Date.now)() - Date.parse(at)) / 100) / 10);
    res.json({ source, at, asOf: at, ageSeconds, consumers: latest?.consumers ?? [], slos: deps.snapshots.consumers() });
  });
  app.get('/api/hot-keys', (_req, res) => {
    const age = deps.hotKeys.age();
    res.json({ at: age.asOf, topics: deps.hotKeys.current?.value ?? [], ...age });
  });
  app.get('/api/stream', (req, res) => deps.live.handle(req, res));
  app.get('/vendor/chart.umd.js', (_req, res) => res.sendFile(CHART_JS_FILE));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html' }));
}
