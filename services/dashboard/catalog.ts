/**
 * The event catalog in the dashboard (shared/catalog): the spec's AsyncAPI document and the views
 * derived from it, for teams looking for what flows through the mesh.
 *
 *   GET /catalog        the page (public/catalog.html, catalog.js): topics, event types with example
 *                       payloads, who consumes what, schema history with the diffs between revisions
 *   GET /catalog.json   {document, owners, topics}: the AsyncAPI 3.0 document (what `mesh catalog`
 *                       writes) and the page's views of it
 *
 * Built once, on the first request: the spec and its schema files do not change under a running service.
 */
import * as path from 'node:path';
import type { Express, Request, Response } from 'express';
import { catalogPage, type CatalogPage } from '../../shared/catalog';
import type { Logger } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';

export const CATALOG_PAGE_PATH = '/catalog';
export const CATALOG_JSON_PATH = '/catalog.json';

export interface CatalogRouteDeps {
  spec: MeshSpec;
  log: Logger;
  /** Where catalog.html is; default the dashboard's public/. */
  publicDir?: string;
}

export function catalogRoutes(app: Express, deps: CatalogRouteDeps): void {
  let built: CatalogPage | undefined;
  const page = path.join(deps.publicDir ?? path.join(__dirname, 'public'), 'catalog.html');
  app.get(CATALOG_JSON_PATH, (req: Request, res: Response) => {
    try {
      built ??= catalogPage(deps.spec);
      res.json(built);
    } catch (error) {
      deps.log.error({ err: error, path: req.path }, 'building the event catalog failed');
      res.status(500).json({ error: `could not build the catalog: ${(error as Error).message}` });
    }
  });
  app.get(CATALOG_PAGE_PATH, (_req: Request, res: Response) => res.sendFile(page));
}
