/** bench/baseline.ts and bench/smoke.ts: regressions against the committed ratios, the update, the smoke sizes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareWithBaseline, describeChange, readBaseline, updatedBaseline, type BenchBaseline } from '../../bench/baseline';
import { renderBenchReport } from '../../bench/report';
import { applySmokeSizes, SMOKE_ENV, smokeProblems } from '../../bench/smoke';
import type { BenchResult } from '../../bench/types';

const result = (name: string, ratio: number): BenchResult => ({ name, ratio, baseline: 'raw', detail: '' });
const kept: BenchBaseline = { updatedAt: '2026-12-01T00:00:00.000Z', machine: '2 cores', command: 'npm run bench', ratios: { a: 1, b: 0.8, c: 2 } };

it('calls a ratio more than 15 % under its baseline a regression, and no other', () => {
  const compared = compareWithBaseline([result('a', 0.86), result('b', 0.67), result('c', 3), result('new one', 0.1)], kept);
  expect(compared.map((c) => c.regression)).toEqual([false, true, false, false]);
  expect(compared[1].change).toBeCloseTo(0.67 / 0.8 - 1, 10);
  expect(compared.map(describeChange)).toEqual(['-14 % vs 1.00', '-16 % vs 0.80 REGRESSION', '+50 % vs 2.00', 'new']);
  expect(compareWithBaseline([result('a', 0.1)], undefined)[0]).toEqual({ name: 'a', ratio: 0.1, regression: false });
});

it('--update-baseline replaces the ratios it ran and keeps the others', () => {
  const next = updatedBaseline(
    kept,
    [result('b', 0.91234), result('d', 1.5), result('broken', NaN), result('nothing sustained', 0)],
    new Date('2026-12-05T00:00:00Z'),
    '2 cores',
    'npm run bench -- b',
  );
  expect(next).toEqual({ updatedAt: '2026-12-05T00:00:00.000Z', machine: '2 cores', command: 'npm run bench -- b', ratios: { a: 1, b: 0.912, c: 2, d: 1.5 } });
});

it('reads the committed file, and refuses one without ratios', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-baseline-'));
  expect(readBaseline(path.join(dir, 'none.json'))).toBeUndefined();
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"updatedAt": "x"}');
  expect(() => readBaseline(path.join(dir, 'bad.json'))).toThrow(/no "ratios" object/);
  const committed = readBaseline(path.join(__dirname, '../../bench/baseline.json'));
  expect(committed).toBeDefined();
  for (const ratio of Object.values(committed!.ratios)) expect(ratio).toBeGreaterThan(0);
});

it('marks the kept ratio and the regression on the page', () => {
  const results = [result('a', 0.5), result('c', 2.1)];
  const html = renderBenchReport(results, new Date(), 'm', compareWithBaseline(results, kept));
  expect(html.match(/<line class="kept"/g)).toHaveLength(2);
  expect(html).toContain('-50 % vs 1.00 REGRESSION');
  expect(html).toContain('class="info regression"');
});

it('smoke sizes fill what the environment leaves unset, and a bench without a usable result is a problem', () => {
  const env: NodeJS.ProcessEnv = { BENCH_PUBLISH_MESSAGES: '5' };
  applySmokeSizes(env);
  expect(env.BENCH_PUBLISH_MESSAGES).toBe('5');
  expect(env.BENCH_DASHBOARD_PULL).toBe(SMOKE_ENV.BENCH_DASHBOARD_PULL);
  expect(smokeProblems('x.bench.ts', [])).toEqual(['x.bench.ts: finished without a result']);
  expect(smokeProblems('x.bench.ts', [result('a', NaN), result('b', 0.01)])).toEqual(['x.bench.ts: "a" has ratio NaN']);
});

it('every size the smoke sets is read by a bench', () => {
  const sources = fs
    .readdirSync(path.join(__dirname, '../../bench'))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => fs.readFileSync(path.join(__dirname, '../../bench', f), 'utf8'))
    .join('\n');
  for (const key of Object.keys(SMOKE_ENV)) expect(sources).toContain(`process.env.${key}`);
});
