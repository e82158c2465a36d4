/**
 * `mesh status` on a busy mesh: every call at once, each with its own timeout; a service (or one of
 * the dashboard's views) that does not answer in time is shown as unavailable (timeout), and what
 * did answer is returned: the command never hangs on one slow service. Over stub services.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { readMeshStatus, statusReport, timeoutMessage } from '../../tools/commands/status';
import { defaultSpec } from '../support/specs';

const COUNTERS = { received: 5, done: 5, duplicate: 0, deadLettered: 0, failed: 0 };

/** A stub service: `routes` answer at once; `hang` paths never answer (until the server closes). */
async function stub(routes: Record<string, unknown>, hang: string[] = []) {
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const p = req.url!.split('?')[0];
    if (hang.includes(p)) return void hung.push(res);
    const body = routes[p];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'no' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const spec = () => ({ ...defaultSpec(), local: { ...defaultSpec().local, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'status-timeout-')) } });

it('returns what answered and marks a service that does not answer within its timeout as unavailable (timeout)', async () => {
  const health = [
    {
      consumer: 'processor-orders',
      topic: 'orders',
      backlog: 7,
      oldestUnackedSeconds: 3,
      deadLettered: 0,
      slo: { oldestUnackedSeconds: 60, backlog: 5000 },
      breached: false,
      state: 'ok',
      source: 'local',
      retentionSeconds: 604800,
    },
  ];
  const dashboard = await stub({
    '/stats': { service: 'dashboard', consumers: { 'dashboard-orders': COUNTERS } },
    '/api/health': { source: 'local', at: '2026-12-05T16:00:00.000Z', asOf: '2026-12-05T16:00:00.000Z', ageSeconds: 1.5, consumers: health, slos: [] },
    '/api/hot-keys': { topics: [] },
    '/api/anomalies': { since: null, total: 0, counts: {}, latest: [] },
  });
  // The processor is running but answers nothing (a blocked event loop); the warehouse is not running.
  const processor = await stub({}, ['/stats']);
  try {
    const status = await readMeshStatus(spec(), { dashboard: dashboard.url, processor: processor.url, warehouse: 'http://127.0.0.1:1' }, { timeoutMs: 300 });
    expect(status.services.dashboard).toEqual({ url: dashboard.url, up: true });
    expect(status.services.processor).toEqual({ url: processor.url, up: false, timedOut: true, error: timeoutMessage(300) });
    expect(status.services.warehouse.up).toBe(false);
    expect(status.services.warehouse.timedOut).toBeUndefined();
    // What answered is there: the dashboard's counters and the health it keeps (with its age).
    const byName = Object.fromEntries(status.consumers.map((c) => [c.consumer, c]));
    expect(byName['dashboard-orders'].counters).toEqual(COUNTERS);
    expect(byName['processor-orders'].counters).toBeNull();
    expect(byName['processor-orders'].health).toMatchObject({ backlog: 7, oldestUnackedSeconds: 3 });
    expect(status.healthAge).toEqual({ asOf: '2026-12-05T16:00:00.000Z', ageSeconds: 1.5 });
    const lines = statusReport(status).lines;
    expect(lines).toContain(`processor (${processor.url}): unavailable (timeout: no answer within 0.3 s)`);
    expect(lines.find((l) => l.startsWith('warehouse'))).toMatch(/not reachable/);
  } finally {
    await Promise.all([dashboard.close(), processor.close()]);
  }
});

it("names each of the dashboard's views that timed out, and keeps the ones that answered", async () => {
  const dashboard = await stub(
    { '/stats': { service: 'dashboard', consumers: {} }, '/api/hot-keys': { topics: [] }, '/api/anomalies': { since: null, total: 0, counts: {}, latest: [] } },
    ['/api/health'],
  );
  try {
    const status = await readMeshStatus(
      spec(),
      { dashboard: dashboard.url, processor: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' },
      { timeoutMs: 300 },
    );
    expect(status.services.dashboard.up).toBe(true);
    expect(status.services.dashboard.error).toBe(`health: ${timeoutMessage(300)}`);
    expect(status.hotKeys).toEqual([]);
    expect(status.anomalies).toMatchObject({ total: 0 });
    expect(status.consumers.every((c) => c.health === null)).toBe(true);
    expect(statusReport(status).lines).toContain(`dashboard (${dashboard.url}): health: ${timeoutMessage(300)}`);
  } finally {
    await dashboard.close();
  }
});

it('calls out a health reading that is old: the dashboard answers, but its monitor is behind', async () => {
  const dashboard = await stub({
    '/stats': { service: 'dashboard', consumers: {} },
    '/api/health': { source: 'local', at: '2026-12-05T16:00:00.000Z', asOf: '2026-12-05T16:00:00.000Z', ageSeconds: 95, consumers: [], slos: [] },
    '/api/hot-keys': { topics: [] },
    '/api/anomalies': { since: null, total: 0, counts: {}, latest: [] },
  });
  try {
    const status = await readMeshStatus(spec(), { dashboard: dashboard.url, processor: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' });
    expect(statusReport(status).lines).toContain(
      "consumer health is 95.0 s old (the dashboard's last reading, at 2026-12-05T16:00:00.000Z): its monitor is behind; see the dashboard's log",
    );
  } finally {
    await dashboard.close();
  }
});

it('times out a service that sends its headers and then stalls in the middle of its body', async () => {
  const open: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"service": "processor", "consu');
    open.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const status = await readMeshStatus(spec(), { processor: url, dashboard: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' }, { timeoutMs: 300 });
    expect(status.services.processor).toEqual({ url, up: false, timedOut: true, error: timeoutMessage(300) });
    // Not reachable at all is not a timeout: it says why.
    expect(status.services.warehouse).toMatchObject({ up: false, error: expect.stringContaining('ECONNREFUSED') });
  } finally {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
