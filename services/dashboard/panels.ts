/**
 * The dashboard's panels that the tools write and the page polls, each read from Firestore:
 *
 *   GET /api/parity    {at, records: [...]}   the latest `mesh parity` result per topic (shared/firestore/parity.ts)
 *   GET /api/replays   {at, replays: [...]}   the latest step of the most recent replays (shared/firestore/replays.ts)
 */
import type { Express, Request, Response } from 'express';
import type { Logger } from '../../shared/consumer';
import type { ParityRecord, ReplayStatusRecord } from '../../shared/firestore';

export const PARITY_PATH = '/api/parity';
export const REPLAYS_PATH = '/api/replays';

export interface PanelRouteDeps {
  /** readParityRecords on the service's Firestore. */
  parity: () => Promise<ParityRecord[]>;
  /** readRecentReplays on the service's Firestore. */
  replays: () => Promise<ReplayStatusRecord[]>;
  log: Logger;
}

function panel<T>(app: Express, path: string, what: string, read: () => Promise<T>, log: Logger): void {
  app.get(path, async (req: Request, res: Response) => {
    try {
      res.json({ at: new Date().toISOString(), ...(await read()) });
    } catch (error) {
      log.error({ err: error, path: req.path }, `reading the ${what} failed`);
      res.status(503).json({ error: `could not read the ${what}: ${(error as Error).message}` });
    }
  });
}

export function panelRoutes(app: Express, deps: PanelRouteDeps): void {
  panel(app, PARITY_PATH, 'parity results', async () => ({ records: await deps.parity() }), deps.log);
  panel(app, REPLAYS_PATH, 'replays', async () => ({ replays: await deps.replays() }), deps.log);
}
