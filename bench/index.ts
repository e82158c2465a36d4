/**
 * `npm run bench`: every benchmark prints its throughput as a ratio against a baseline measured in
 * the same run on this machine (absolute numbers vary between machines; ratios much less), then
 * compares each ratio with the committed one in bench/baseline.json (bench/baseline.ts).
 *
 *   npm run bench [-- NAME...]          the benches whose file starts with a NAME (default all)
 *   npm run bench -- --update-baseline  also keep this run's ratios as the baseline
 *   npm run bench -- --smoke            every bench at a tiny size: starts and finishes (CI)
 *
 * Exit status 1 when a bench fails, a ratio regressed (more than 15 % under its baseline), or, with
 * --smoke, a bench gave no usable result.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { printTable } from '../tools/table';
import { compareWithBaseline, describeChange, readBaseline, updatedBaseline, type BaselineComparison } from './baseline';
import { benchVerdict, renderBenchReport } from './report';
import { applySmokeSizes, smokeProblems } from './smoke';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

type Bench = { run: (progress: (line: string) => void) => Promise<BenchResult[]> };

const BASELINE_FILE = path.join(__dirname, 'baseline.json');
const FLAGS = ['--smoke', '--update-baseline'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a.startsWith('--') && !FLAGS.includes(a));
  if (unknown.length) throw new Error(`unknown option ${unknown.join(', ')}; options: ${FLAGS.join(', ')}`);
  const smoke = args.includes('--smoke');
  const update = args.includes('--update-baseline');
  if (smoke && update) throw new Error('--smoke runs are too small to be a baseline; drop one of the two');
  if (smoke) applySmokeSizes();
  const only = args.filter((a) => !a.startsWith('--'));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only.length || only.some((o) => f.startsWith(o)));
  if (!files.length) throw new Error(`no bench matches ${only.join(', ')}`);
  const results: BenchResult[] = [];
  const problems: string[] = [];
  for (const [i, file] of files.entries()) {
    const started = Date.now();
    console.log(`> ${file} (${i + 1}/${files.length})`);
    const bench = (await import(path.join(__dirname, file))) as Bench;
    const own = await bench.run((line) => console.log(`  ${line}`));
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    results.push(...own);
    if (smoke) problems.push(...smokeProblems(file, own));
  }
  const at = new Date();
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  fs.mkdirSync('test-artifacts', { recursive: true });
  if (smoke) {
    fs.writeFileSync(path.join('test-artifacts', 'bench-smoke.json'), JSON.stringify({ at: at.toISOString(), machine, results }, null, 2));
    for (const problem of problems) console.error(`smoke: ${problem}`);
    console.log(
      `smoke: ${files.length} benches started and finished${problems.length ? `, ${problems.length} without a usable result` : ''} (numbers not judged)`,
    );
    if (problems.length) process.exitCode = 1;
    return;
  }

  const baseline = readBaseline(BASELINE_FILE);
  const comparisons = compareWithBaseline(results, baseline);
  printTable(
    ['benchmark', 'ratio', 'goal', 'vs baseline.json', 'measured against', 'detail'],
    results.map((r, i) => [
      r.name,
      r.ratio.toFixed(2),
      r.goal === undefined ? '' : `>= ${r.goal}${benchVerdict(r) === 'ok' ? ' ok' : ' MISSED'}`,
      describeChange(comparisons[i]),
      r.baseline,
      r.detail,
    ]),
  );
  fs.writeFileSync(path.join('test-artifacts', 'bench.json'), JSON.stringify({ at: at.toISOString(), machine, results, comparisons }, null, 2));
  fs.writeFileSync(path.join('test-artifacts', 'bench.html'), renderBenchReport(results, at, machine, comparisons));
  console.log('written: test-artifacts/bench.json, test-artifacts/bench.html (the chart)');
  if (update) {
    const command = `npm run bench${only.length ? ` -- ${only.join(' ')}` : ''}`;
    fs.writeFileSync(BASELINE_FILE, `${JSON.stringify(updatedBaseline(baseline, results, at, machine, command), null, 2)}\n`);
    console.log(`baseline updated: ${path.relative(process.cwd(), BASELINE_FILE)} (${results.length} ratios from this run; commit it)`);
    return;
  }
  reportRegressions(comparisons, baseline === undefined);
}

function reportRegressions(comparisons: BaselineComparison[], noBaseline: boolean): void {
  if (noBaseline) console.log('no bench/baseline.json yet: npm run bench -- --update-baseline writes one');
  const regressions = comparisons.filter((c) => c.regression);
  if (!regressions.length) return;
  console.error(`\n${regressions.length} regression(s), more than 15 % under bench/baseline.json:`);
  for (const c of regressions) console.error(`  ${c.name}: ${describeChange(c)}`);
  process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
