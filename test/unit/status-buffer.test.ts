/**
 * `mesh status` and the buffer policy: paused consumers with who/why and how much of their
 * subscription's retention their oldest message has used, a WARNING per consumer at 80 % of it, from
 * a handmade MeshStatus (statusReport is what the command prints); and readMeshStatus passing the
 * dashboard's pause and retention through.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { judge, type ConsumerHealth } from '../../shared/health';
import { readMeshStatus, statusReport, type ConsumerStatus, type MeshStatus } from '../../tools/commands/status';
import { defaultSpec } from '../support/specs';

const DAY = 86400;
const PAUSED = { since: '2024-05-01T10:00:00.000Z', owner: 'orders-oncall', intent: 'orders DB maintenance until 14:00', operationId: 'op-1' };

function consumer(name: string, over: Partial<Omit<ConsumerHealth, 'breached' | 'bufferAtRisk' | 'state'>> | null): ConsumerStatus {
  const h =
    over &&
    judge({
      consumer: name,
      topic: 'orders',
      backlog: 0,
      oldestUnackedSeconds: null,
      deadLettered: 0,
      slo: { oldestUnackedSeconds: 60, backlog: 100 },
      retentionSeconds: 7 * DAY,
      source: 'local',
      ...over,
    });
  const { consumer: _c, topic: _t, ...health } = h ?? {};
  return {
    consumer: name,
    topic: 'orders',
    delivery: 'pull',
    service: 'processor',
    counters: { received: 10, done: 9, duplicate: 1, deadLettered: 0, failed: 0 },
    health: h ? (health as ConsumerStatus['health']) : null,
  };
}

const status = (consumers: ConsumerStatus[]): MeshStatus => ({
  at: '2024-05-01T12:00:00.000Z',
  services: { processor: { url: 'http://127.0.0.1:1', up: true } },
  consumers,
  anomalies: null,
  hotKeys: null,
});

it('shows the buffer of every consumer against its retention, and PAUSED / BUFFER AT RISK', () => {
  const report = statusReport(
    status([
      consumer('dashboard-orders', {}),
      consumer('processor-orders', { backlog: 1200, oldestUnackedSeconds: 2 * 3600, paused: PAUSED }),
      consumer('warehouse-orders', { backlog: 40, oldestUnackedSeconds: 501_984 /* 83 % of 7 d */ }),
      consumer('archive-orders', null),
    ]),
  );
  const column = (name: string) => report.rows.map((r) => r[report.head.indexOf(name)]);
  expect(column('buffer')).toEqual(['0% of 7 d', '1% of 7 d', '83% of 7 d', '-']);
  expect(column('status')).toEqual(['ok', 'PAUSED', 'BUFFER AT RISK', '?']);
  expect(column('backlog')).toEqual(['0', '1200', '40', '-']);
  expect(report.lines).toEqual([
    'processor-orders: PAUSED since 2024-05-01T10:00:00.000Z by orders-oncall: orders DB maintenance until 14:00; ' +
      'backlog 1200, oldest 2.0 h = 1% of its 7 d retention; ' +
      'resume: npm run mesh -- resume processor-orders --owner NAME --intent "why"',
    "WARNING: warehouse-orders: its oldest unacked message is at 83% of the subscription's 7 d retention: past it Pub/Sub drops messages",
  ]);
});

it('warns for a paused consumer at risk too, from exactly 80 %, and rounds down below it', () => {
  const retention = 10 * DAY;
  const report = statusReport(
    status([
      consumer('processor-orders', { backlog: 5, oldestUnackedSeconds: 0.8 * retention, retentionSeconds: retention, paused: PAUSED }),
      consumer('warehouse-orders', { backlog: 5, oldestUnackedSeconds: 0.8 * retention - 1, retentionSeconds: retention }),
      consumer('dashboard-orders', { paused: PAUSED }),
    ]),
  );
  expect(report.rows.map((r) => r.at(-1))).toEqual(['BUFFER AT RISK', 'BREACHED', 'PAUSED']);
  expect(report.rows.map((r) => r[report.head.indexOf('buffer')])).toEqual(['80% of 10 d', '79% of 10 d', '0% of 7 d']);
  expect(report.lines).toEqual([
    expect.stringMatching(/^processor-orders: PAUSED since .*; backlog 5, oldest 8 d = 80% of its 10 d retention; resume: /),
    expect.stringMatching(/^dashboard-orders: PAUSED since .* by orders-oncall: orders DB maintenance until 14:00; backlog 0; resume: /),
    "WARNING: processor-orders (paused): its oldest unacked message is at 80% of the subscription's 10 d retention: past it Pub/Sub drops messages",
  ]);
});

it('keeps the service notes after the buffer lines', () => {
  const s = status([consumer('processor-orders', { paused: PAUSED })]);
  s.services.dashboard = { url: 'http://127.0.0.1:2', up: false, error: 'ECONNREFUSED' };
  expect(statusReport(s).lines).toEqual([expect.stringMatching(/^processor-orders: PAUSED/), 'dashboard (http://127.0.0.1:2): not reachable: ECONNREFUSED']);
});

describe('readMeshStatus', () => {
  let server: http.Server;
  let url: string;
  let health: unknown[];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = { '/stats': { service: 'dashboard', consumers: {} }, '/api/health': { consumers: health }, '/api/anomalies': undefined }[
        req.url!.split('?')[0]
      ];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // Its own data folder: the repository's .mesh-data holds a developer's supervisor records.
  const spec = () => ({ ...defaultSpec(), local: { ...defaultSpec().local, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'status-buffer-')) } });
  const read = () => readMeshStatus(spec(), { dashboard: url, processor: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' });

  it("passes the dashboard's pause, retention and buffer verdict through", async () => {
    health = [
      judge({
        consumer: 'processor-orders',
        topic: 'orders',
        backlog: 7,
        oldestUnackedSeconds: 6 * DAY,
        deadLettered: 0,
        slo: { oldestUnackedSeconds: 60, backlog: 100 },
        retentionSeconds: 7 * DAY,
        paused: PAUSED,
        source: 'local',
      }),
    ];
    const h = (await read()).consumers.find((c) => c.consumer === 'processor-orders')!.health;
    expect(h).toMatchObject({ paused: PAUSED, retentionSeconds: 7 * DAY, bufferAtRisk: true, state: 'buffer-at-risk' });
  });

  it('takes the retention from the spec when an older dashboard does not send it', async () => {
    health = [
      {
        consumer: 'processor-orders',
        topic: 'orders',
        backlog: 0,
        oldestUnackedSeconds: null,
        deadLettered: 0,
        slo: { oldestUnackedSeconds: 60, backlog: 100 },
        breached: false,
        state: 'ok',
        source: 'local',
      },
    ];
    const h = (await read()).consumers.find((c) => c.consumer === 'processor-orders')!.health;
    expect(h).toMatchObject({ retentionSeconds: 7 * DAY, bufferAtRisk: false, state: 'ok' });
    expect(h).not.toHaveProperty('paused');
  });
});
