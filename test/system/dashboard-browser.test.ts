/**
 * The live page in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
 * events published to the emulator reach the dashboard by push, and the page's numbers and chart
 * data change without a reload; the order anomalies the processor's store commits show in their
 * panel. The event catalog page shows the spec's topics, examples, consumers and schema diffs.
 * Screenshots are saved to test-artifacts/dashboard.png and catalog.png.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createLogger } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { toPubsubMessage } from '../../shared/envelope';
import { MeshPublisher } from '../../shared/publisher';
import type { DecodedEvent } from '../../shared/consumer';
import { createDashboardApp, type DashboardApp } from '../../services/dashboard/app';
import type { OrderEventData } from '../../services/processor/orders';
import { ProcessorStore } from '../../services/processor/store';
import { testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { REPO_ROOT, specFromText } from '../support/specs';
import { writeParityRecords, writeReplayStatus } from '../../shared/firestore';
import { parityRecords } from '../../tools/parity/record';
import type { ParityRow } from '../../tools/parity/types';

const CHROMIUM = '/usr/bin/chromium';
const spec = specFromText(`
version: 1
project: dashboard-browser
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    # Spec text is user input: the catalog page must show this as text, never run it.
    description: 'Order steps <img src=x onerror="window.injected = 1"> <b>not bold</b>'
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
services:
  dashboard: { localPort: 18081 }
consumers:
  dashboard-analytics: { topic: analytics, delivery: push, service: dashboard, ackDeadline: 10s, lagSlo: { oldestUnacked: 1m, backlog: 5 } }
  dashboard-orders: { topic: orders, delivery: push, service: dashboard, ackDeadline: 10s }
  slow-orders: { topic: orders, delivery: pull, service: dashboard, lagSlo: { oldestUnacked: 10m, backlog: 3 } }
warehouse: { dataset: test }
`);

it('shows events arriving live, a consumer past its SLO in red, one holding dead letters in amber, and order anomalies', async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); the browser test never downloads one`);
  const project = uniqueProject('dash-browser');
  const pubsub = testPubSub(project);
  const firestore = testFirestore(project);
  const port = await freePort();
  await applyLocal({ pubsub, spec, serviceUrls: { dashboard: `http://127.0.0.1:${port}` } });
  let service: DashboardApp | undefined;
  let browser: Browser | undefined;
  const publisher = new MeshPublisher({ pubsub, spec, source: '//browser-test' });
  try {
    service = createDashboardApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      healthIntervalMs: 500,
      shutdownTimeoutMs: 3000,
      liveIntervalMs: 500,
      // The pull consumer holds every message (never resolves) so it builds a backlog; no handler
      // deadline, which would otherwise retry them every 10 s and make the row change under the test.
      decorate: (handlers) => ({ ...handlers, 'slow-orders': () => new Promise(() => undefined) }),
      handlerTimeoutMs: 0,
    });
    await service.start(port, '127.0.0.1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { dashboard: { snapshots: number } }).dashboard.snapshots > 0, undefined, { timeout: 15000 });
    const number = async (id: string) => Number((await page.textContent(`#${id}`))!.replace(/,/g, ''));
    const chartSum = () =>
      page.evaluate(() =>
        (
          window as unknown as { dashboard: { charts: Record<string, { data: { datasets: { data: number[] }[] } }> } }
        ).dashboard.charts.minutes.data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0),
      );
    // Read in one evaluation of the live document: the table is re-rendered every liveIntervalMs, and a
    // cell found before a re-render is detached by the time a second call reads it (empty computed
    // style). page.$eval is two calls (find, then evaluate), so it is not used for styles here.
    const computedStyle = (selector: string, property: 'backgroundColor' | 'color') =>
      page.evaluate(
        ([sel, prop]) => {
          const element = document.querySelector(sel);
          return element ? getComputedStyle(element)[prop] : `nothing matches ${sel}`;
        },
        [selector, property] as const,
      );
    const cellColor = (selector: string) => computedStyle(selector, 'backgroundColor');
    const before = { total: await number('total-30m'), chart: await chartSum() };
    expect(before).toEqual({ total: 0, chart: 0 });

    for (let i = 0; i < 12; i++)
      await publisher.publish('analytics', i % 3 ? 'click' : 'like.created', { userId: `browser-u${i % 4}`, postId: 'browser-post' });
    for (let i = 0; i < 6; i++) await publisher.publish('orders', 'order.created', { orderId: `browser-o${i}`, customerId: 'browser-c', sequence: 1 });
    // One poison order (its ce-time is not a time): dead-lettered by dashboard-orders, counted nowhere.
    const poison = publisher.prepare('orders', 'order.created', { orderId: 'browser-poison', customerId: 'browser-c', sequence: 1 });
    const poisonMessage = toPubsubMessage(poison.event, poison.orderingKey);
    await pubsub.topic('orders').publishMessage({ ...poisonMessage, attributes: { ...poisonMessage.attributes, 'ce-time': 'yesterday' } });

    // The page updates in place: same document, new numbers, new chart data.
    await page.waitForFunction(() => document.getElementById('total-30m')!.textContent === '18', undefined, { timeout: 30000 });
    expect(await chartSum()).toBe(18);
    expect(await number('users-hour')).toBe(5);
    expect(await number('likes-hour')).toBe(4);
    expect(await page.textContent('#top-posts tbody')).toContain('browser-post');
    // slow-orders never acks: its backlog passes its SLO of 3 and its row turns red, while
    // dashboard-analytics, which acked all 12, is green. Both in one reading, waited for: health is
    // eventually consistent (the tap can show the 12 analytics messages a reading before their acks
    // are read, and on a loaded machine that reading is the one the page shows first).
    await page.waitForFunction(
      () =>
        document.querySelector('#health tr.breached[data-consumer="slow-orders"]') !== null &&
        document.querySelector('#health tr.ok[data-consumer="dashboard-analytics"]') !== null,
      undefined,
      { timeout: 30000 },
    );
    expect(await cellColor('#health tr.breached[data-consumer="slow-orders"] td')).toBe('rgb(255, 227, 227)');
    // dashboard-orders is within its SLO but holds a dead letter: amber, not red.
    await page.waitForSelector('#health tr.dead-letters[data-consumer="dashboard-orders"]', { timeout: 30000 });
    expect(await cellColor('#health tr.dead-letters[data-consumer="dashboard-orders"] td')).toBe('rgb(255, 243, 196)');
    expect(await page.textContent('#health tr[data-consumer="dashboard-orders"] .status-cell')).toBe('dead letters waiting');
    expect(await page.$$('#lag-charts canvas')).toHaveLength(3);
    // The triage panel (triage-panels.js): a row per consumer, dashboard-orders amber with its one held dead letter.
    await page.waitForSelector('#dead-letter-holds tr.dead-letters[data-consumer="dashboard-orders"]', { timeout: 30000 });
    expect(await page.$$('#dead-letter-holds tbody tr')).toHaveLength(3);
    expect(await page.textContent('#dead-letter-holds tr[data-consumer="dashboard-orders"] td.held')).toBe('1');

    // Order anomalies, as the processor's store commits them (shipped before paid, then a gap): the
    // panel counts them per topic and kind and lists the offending orders, newest first.
    const store = new ProcessorStore(firestore);
    const apply = (type: string, orderId: string, sequence: number) => {
      const { event } = publisher.prepare('orders', type, { orderId, customerId: 'browser-c', sequence });
      const decoded = { event, readAs: 'v2', messageId: `m-${event.id}`, attributes: {} } as unknown as DecodedEvent<OrderEventData>;
      return store.applyOrderEvent('processor-orders', decoded, 'orders');
    };
    await page.waitForFunction(() => (window as unknown as { dashboard: { anomalies: unknown } }).dashboard.anomalies !== null, undefined, { timeout: 15000 });
    expect(await page.textContent('#anomaly-counts tbody')).toContain('no anomalies');
    await apply('order.created', 'browser-bad-1', 1);
    expect((await apply('order.shipped', 'browser-bad-1', 2)).anomaly?.kind).toBe('invalid-transition');
    await apply('order.created', 'browser-bad-2', 1);
    expect((await apply('order.paid', 'browser-bad-2', 4)).anomaly?.kind).toBe('gap');
    await page.waitForSelector('#anomaly-latest tr[data-order-id="browser-bad-2"]', { timeout: 20000 });
    expect(await page.textContent('#anomaly-counts tr[data-topic="orders"] td[data-kind="invalid-transition"]')).toBe('1');
    expect(await page.textContent('#anomaly-counts tr[data-topic="orders"] td[data-kind="gap"]')).toBe('1');
    expect(await page.textContent('#anomaly-counts tr[data-topic="orders"] td[data-kind="stale"]')).toBe('0');
    expect(await page.$$eval('#anomaly-latest tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.orderId))).toEqual([
      'browser-bad-2',
      'browser-bad-1',
    ]);
    expect(await page.textContent('#anomaly-latest tr[data-order-id="browser-bad-1"]')).toContain('shipped before paid');
    expect(await computedStyle('#anomaly-counts td.anomaly', 'color')).toBe('rgb(166, 27, 27)');

    // Parity: the latest result per topic as `mesh parity --record` writes it: agree in green,
    // pending in amber, a mismatch in red with its difference.
    await page.waitForFunction(() => (window as unknown as { dashboard: { parity?: unknown } }).dashboard.parity !== undefined, undefined, { timeout: 15000 });
    expect(await page.textContent('#parity-status')).toContain('no run recorded yet');
    const row = (topic: string, verdict: ParityRow['verdict'], differences: ParityRow['differences'] = []): ParityRow => ({
      topic,
      window: '2026-12-04T04:31',
      start: '2026-12-04T04:31:00.000Z',
      end: '2026-12-04T04:32:00.000Z',
      check: 'events',
      item: 'view',
      counts: { warehouse: 10, dashboard: verdict === 'mismatch' ? 9 : 10 },
      verdict,
      differences,
    });
    const difference = { sink: 'dashboard', summary: '1 view short, yet every event has its dashboard-analytics dedup record', sample: [] };
    await writeParityRecords(
      firestore,
      parityRecords({
        at: new Date().toISOString(),
        target: 'local',
        project,
        granularity: 'minute',
        since: '2026-12-04T04:00:00.000Z',
        until: '2026-12-04T04:32:00.000Z',
        topics: ['analytics', 'orders', 'payments'],
        rows: [row('analytics', 'ok'), row('analytics', 'mismatch', [difference]), row('orders', 'ok'), row('payments', 'pending')],
        mismatches: 1,
        pending: 1,
        anomalies: {},
        warnings: [],
      }),
    );
    await page.waitForSelector('#parity-results tr[data-topic="payments"]', { timeout: 20000 });
    expect(
      await page.$$eval('#parity-results tbody tr', (rows) => rows.map((r) => `${(r as HTMLElement).dataset.topic}:${(r as HTMLElement).dataset.verdict}`)),
    ).toEqual(['analytics:mismatch', 'orders:ok', 'payments:pending']);
    const colours = await page.evaluate(() =>
      ['analytics', 'orders', 'payments'].map((t) => getComputedStyle(document.querySelector(`#parity-results tr[data-topic="${t}"] td.verdict`)!).color),
    );
    expect(colours).toEqual(['rgb(166, 27, 27)', 'rgb(27, 122, 47)', 'rgb(154, 103, 0)']);
    expect(await page.textContent('#parity-results tr[data-topic="analytics"]')).toContain('2026-12-04T04:31 events view: dashboard: 1 view short');
    expect(await page.textContent('#parity-results tr[data-topic="analytics"]')).toContain('1/2 agree, 1 mismatched');
    // Replays: each one's latest step as `mesh replay` writes it, with its progress.
    await page.waitForFunction(() => (window as unknown as { dashboard: { replays?: unknown } }).dashboard.replays !== undefined, undefined, {
      timeout: 15000,
    });
    await writeReplayStatus(firestore, {
      replayId: 'rp-20261204103000-abc123',
      consumer: 'processor-orders',
      topic: 'orders',
      state: 'progress',
      owner: 'commerce-oncall',
      intent: 'rebuild after INC-42',
      inScope: 400,
      sent: 100,
      ceilingPerSecond: 50,
      ratePerSecond: 49.5,
      elapsedSeconds: 2,
      updatedAt: new Date().toISOString(),
    });
    await page.waitForSelector('#replay-list tr[data-replay-id="rp-20261204103000-abc123"]', { timeout: 20000 });
    const replayLine = await page.evaluate(() => {
      const tr = document.querySelector('#replay-list tr[data-replay-id="rp-20261204103000-abc123"]') as HTMLElement;
      const progress = tr.querySelector('progress') as HTMLProgressElement;
      return { state: tr.dataset.state, text: tr.textContent, value: progress.value, max: progress.max };
    });
    expect(replayLine).toMatchObject({ state: 'progress', value: 100, max: 400 });
    expect(replayLine.text).toContain('100 / 400');
    expect(replayLine.text).toContain('49.5/s (ceiling 50/s)');

    const artifacts = path.join(REPO_ROOT, 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });

    // The event catalog (/catalog, from /catalog.json): the topics, an example payload per event type
    // and revision, who consumes what, and the diff between the schema revisions.
    await page.goto(`http://127.0.0.1:${port}/catalog`);
    await page.waitForFunction(() => (window as unknown as { catalog: { loaded: boolean; error: string | null } }).catalog.loaded, undefined, {
      timeout: 15000,
    });
    expect(await page.$$eval('section.catalog-topic', (sections) => sections.map((s) => (s as HTMLElement).dataset.topic))).toEqual(['analytics', 'orders']);
    const orders = 'section.catalog-topic[data-topic="orders"]';
    expect(await page.textContent(`${orders} p.description`)).toBe('Order steps <img src=x onerror="window.injected = 1"> <b>not bold</b>');
    expect(
      await page.evaluate(() => ({ injected: (window as unknown as { injected?: number }).injected, images: document.querySelectorAll('img, b').length })),
    ).toEqual({
      injected: undefined,
      images: 0,
    });
    const shipped = `${orders} .event-type[data-event-type="order.shipped"] details.example[data-revision="v2"]`;
    expect(await page.$eval(shipped, (d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(JSON.parse((await page.textContent(`${shipped} pre.payload`))!)).toMatchObject({ orderId: 'order-1', sequence: 1, carrier: 'example-carrier' });
    expect(JSON.parse((await page.textContent(`${shipped} pre.headers`))!)).toMatchObject({ 'ce-type': 'order.shipped', 'ce-specversion': '1.0' });
    const slowRow = await page.$$eval(`${orders} table.consumers tr[data-consumer="slow-orders"] td`, (cells) => cells.map((c) => c.textContent));
    expect(slowRow.slice(0, 4)).toEqual(['slow-orders', 'pull', 'service dashboard', 'unordered']);
    expect(slowRow[4]).toBe('oldest unacked ≤ 10m, backlog ≤ 3');
    expect(await page.$$eval(`${orders} table.consumers tbody tr`, (rows) => rows.map((r) => (r as HTMLElement).dataset.consumer))).toEqual([
      'dashboard-orders',
      'slow-orders',
    ]);
    const carrier = `${orders} .diff[data-from="v1"][data-to="v2"] tr[data-field="carrier"][data-kind="added"]`;
    expect(await page.textContent(`${carrier} td.kind`)).toBe('added');
    expect(await page.textContent(carrier)).toContain('string, default ""');
    expect(await computedStyle(`${carrier} td.kind`, 'color')).toBe('rgb(27, 122, 47)');
    await page.screenshot({ path: path.join(artifacts, 'catalog.png'), fullPage: true });
  } finally {
    await browser?.close();
    await service?.stop();
    await pubsub.close();
    await firestore.terminate();
  }
}, 90000);
