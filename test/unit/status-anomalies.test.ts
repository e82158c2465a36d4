/** `mesh status` reads the order anomalies from the dashboard (GET /api/anomalies) beside its health, over stub services. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { describeAnomalies, type AnomalyReport } from '../../shared/firestore';
import { readMeshStatus } from '../../tools/commands/status';
import { defaultSpec } from '../support/specs';

const REPORT: AnomalyReport = {
  since: '2024-04-30T13:00:00.000Z',
  total: 1,
  counts: { orders: { gap: 1 } },
  latest: [{ topic: 'orders', kind: 'gap', orderId: 'o-9', eventId: 'e', type: 'order.paid', reason: 'sequence 3 after 1', time: '', detectedAt: '' }],
};

async function stub(routes: Record<string, unknown>): Promise<{ url: string; close: () => Promise<void>; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url!);
    const body = routes[req.url!.split('?')[0]];
    res.writeHead(body === undefined ? 500 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'down' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

it('shows the last 24 hours of anomalies with the three latest offenders, or says why not', async () => {
  // A data folder of its own: the repository's .mesh-data holds the supervisor records of a
  // developer's last `npm start`, which status would show.
  const spec = { ...defaultSpec(), local: { ...defaultSpec().local, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'status-anomalies-')) } };
  const dashboard = await stub({
    '/stats': { service: 'dashboard', consumers: {} },
    '/api/health': { consumers: [] },
    '/api/anomalies': REPORT,
    '/api/hot-keys': { topics: [] },
  });
  try {
    const status = await readMeshStatus(spec, { dashboard: dashboard.url, processor: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' });
    expect(status.anomalies).toEqual(REPORT);
    expect(dashboard.paths).toContain('/api/anomalies?latest=3');
    expect(status.services.dashboard).toEqual({ url: dashboard.url, up: true });
    expect(describeAnomalies(status.anomalies!)).toBe(
      'anomalies since 2024-04-30T13:00:00.000Z: 1 (orders: gap 1); latest o-9 (orders gap: sequence 3 after 1)',
    );
  } finally {
    await dashboard.close();
  }
  const older = await stub({ '/stats': { service: 'dashboard', consumers: {} }, '/api/health': { consumers: [] } });
  try {
    const status = await readMeshStatus(spec, { dashboard: older.url, processor: 'http://127.0.0.1:1', warehouse: 'http://127.0.0.1:1' });
    expect(status.anomalies).toBeNull();
    expect(status.services.dashboard.error).toMatch(/(^|; )anomalies: .*HTTP 500/);
    expect(status.services.dashboard.error).toMatch(/(^|; )hot keys: .*HTTP 500/);
    expect(status.hotKeys).toBeNull();
  } finally {
    await older.close();
  }
});
