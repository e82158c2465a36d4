/**
 * The dashboard's parity panel: the latest `mesh parity` result per topic, as the scheduled runs
 * (npm start) and `mesh parity --record` write it (shared/firestore/parity.ts).
 *
 *   GET /api/parity   {at, records: [{topic, verdict, at, checks, agree, pending, mismatches, differences ...}]}
 */
import type { Express, Request, Response } from 'express';
import type { Logger } from '../../shared/consumer';
import type { ParityRecord } from '../../shared/firestore';

export const PARITY_PATH = '/api/parity';

export interface ParityRouteDeps {
  /** readParityRecords on the service's Firestore. */
  read: () => Promise<ParityRecord[]>;
  log: Logger;
}

export function parityRoutes(app: Express, deps: ParityRouteDeps): void {
  app.get(PARITY_PATH, async (req: Request, res: Response) => {
    try {
      res.json({ at: new Date().toISOString(), records: await deps.read() });
    } catch (error) {
      deps.log.error({ err: error, path: req.path }, 'reading the parity results failed');
      res.status(503).json({ error: `could not read the parity results: ${(error as Error).message}` });
    }
  });
}
