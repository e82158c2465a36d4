/**
 * Deliveries and payloads for the warehouse's BigQuery tests, and the local endpoint they run on
 * (the real @google-cloud/bigquery client against shared/bigquery-local).
 */
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import type { MeshEvent } from '../../shared/envelope';
import { loadSpec, type MeshSpec, type TopicSpec } from '../../shared/spec';
import type { EventDelivery } from '../../shared/warehouse';
// Sets up the BigQuery client for jest's sandbox (no metadata server, teeny-request's transport).
import './local-bigquery';

export const spec = loadSpec();

export interface WarehouseEndpoint {
  /** A client of the spec's project on the endpoint (set once beforeAll ran). */
  readonly bigquery: BigQuery;
  /** Rows in `table` (dataset.table). */
  count(table: string): Promise<number>;
}

/** An in-memory endpoint for this jest file: started before its tests, stopped after them. */
export function useWarehouseEndpoint(): WarehouseEndpoint {
  let local: LocalBigQuery | undefined;
  let bigquery: BigQuery | undefined;
  beforeAll(async () => {
    local = await startLocalBigQuery();
    bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: local.url });
  });
  afterAll(async () => {
    await local?.stop();
  });
  return {
    get bigquery() {
      if (!bigquery) throw new Error('the warehouse endpoint starts in beforeAll: use it inside a test or hook');
      return bigquery;
    },
    async count(table) {
      return Number((await this.bigquery.query(`SELECT COUNT(*) AS c FROM ${table}`))[0][0].c);
    },
  };
}

/** The spec with another dataset, so each scenario starts from empty tables. */
export const withDataset = (dataset: string): MeshSpec => ({ ...spec, warehouse: { ...spec.warehouse, dataset } });
export const topicAt = (name: 'analytics' | 'orders', revisions: string[], dir = spec.topics[name].schema.dir): TopicSpec => ({
  ...spec.topics[name],
  schema: { ...spec.topics[name].schema, dir, revisions, accept: { first: revisions[0], last: revisions[revisions.length - 1] } },
});

let messages = 0;
export function delivery(topic: 'analytics' | 'orders', id: string, type: string, time: Date, data: Record<string, unknown>, lateMs = 2000): EventDelivery {
  const event: MeshEvent<unknown> = {
    id,
    type,
    source: topic === 'orders' ? '//checkout/api' : '//web',
    time: time.toISOString(),
    schemaVersion: 'v2',
    specversion: '1.0',
    datacontenttype: 'application/json',
    data,
  };
  return {
    event,
    messageId: `m-${++messages}`,
    publishTime: new Date(time.getTime() + lateMs),
    orderingKey: topic === 'orders' ? String(data.orderId) : undefined,
    attributes: { 'ce-id': id, 'ce-type': type, 'ce-source': event.source },
  };
}

export const view = (user: string, extra: Record<string, unknown> = {}) => ({
  userId: user,
  sessionId: `s-${user}`,
  page: '/posts/p-1',
  element: '',
  postId: 'p-1',
  country: 'DE',
  durationMs: 1200,
  ...extra,
});
export const order = (orderId: string, customerId: string, sequence: number, extra: Record<string, unknown> = {}) => ({
  orderId,
  customerId,
  sequence,
  amountCents: 2599,
  currency: 'USD',
  itemCount: 1,
  reason: '',
  carrier: '',
  ...extra,
});
