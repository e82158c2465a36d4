/**
 * The dashboard's event catalog routes (services/dashboard/catalog.ts) with supertest: GET /catalog.json
 * answers the spec's AsyncAPI document and the page's views of it, GET /catalog the page.
 */
import express from 'express';
import request from 'supertest';
import { buildCatalog } from '../../shared/catalog';
import { createLogger } from '../../shared/consumer';
import { CATALOG_JSON_PATH, CATALOG_PAGE_PATH, catalogRoutes } from '../../services/dashboard/catalog';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const log = createLogger({ level: 'silent' });

function appFor(s = spec) {
  const app = express();
  catalogRoutes(app, { spec: s, log });
  return app;
}

it('answers the AsyncAPI document and, per topic, event types with examples, consumers and schema history', async () => {
  const res = await request(appFor()).get(CATALOG_JSON_PATH).expect(200).expect('content-type', /json/);
  expect(res.body.document).toEqual(JSON.parse(JSON.stringify(buildCatalog(spec))));
  expect(res.body.document.asyncapi).toBe('3.0.0');
  expect(res.body.topics.map((t: { name: string }) => t.name)).toEqual(['analytics', 'orders']);
  const orders = res.body.topics[1];
  expect(orders).toMatchObject({ owner: 'commerce', retentionSeconds: 7 * 86400, orderingKeyField: 'orderId', currentRevision: 'v2' });
  expect(orders.eventTypes.map((e: { type: string }) => e.type)).toEqual(spec.topics.orders.eventTypes);
  expect(orders.eventTypes[0].examples[1]).toMatchObject({ revision: 'v2', headers: { 'ce-type': 'order.created' }, payload: { orderId: 'order-1' } });
  expect(orders.consumers.find((c: { name: string }) => c.name === 'processor-orders')).toMatchObject({
    delivery: 'pull',
    ordering: true,
    exactlyOnce: true,
    owner: 'commerce',
    reads: ['v1', 'v2'],
    slo: { oldestUnackedSeconds: 120, backlog: 5000, rtoSeconds: 1800, rpoSeconds: 0 },
  });
  expect(orders.history).toEqual([{ from: 'v1', to: 'v2', changes: [{ field: 'carrier', kind: 'added', after: 'string, default ""' }] }]);
  expect(res.body.owners.commerce).toEqual(['mailto:commerce-oncall@example.com']);
});

it('serves the page', async () => {
  const res = await request(appFor()).get(CATALOG_PAGE_PATH).expect(200).expect('content-type', /html/);
  expect(res.text).toContain('<script src="catalog.js" defer></script>');
});

it('answers 500 with the reason when the catalog cannot be built', async () => {
  const broken = { ...spec, topics: { ...spec.topics, orders: { ...spec.topics.orders, schema: { ...spec.topics.orders.schema, dir: '/no/such/dir' } } } };
  const res = await request(appFor(broken)).get(CATALOG_JSON_PATH).expect(500);
  expect(res.body.error).toMatch(/could not build the catalog: .*does not exist/);
});
