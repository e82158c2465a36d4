/**
 * `npm run bench`: every benchmark prints its throughput as a ratio against a baseline measured in
 * the same run on this machine (absolute numbers vary between machines; ratios much less).
 * Select some with `npm run bench -- publisher consumer`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { printTable } from '../tools/table';
import { benchVerdict, renderBenchReport } from './report';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

type Bench = { run: (progress: (line: string) => void) => Promise<BenchResult[]> };

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only.length || only.some((o) => f.startsWith(o)));
  const results: BenchResult[] = [];
  for (const file of files) {
    console.log(`> ${file}`);
    const bench = (await import(path.join(__dirname, file))) as Bench;
    results.push(...(await bench.run((line) => console.log(`  ${line}`))));
  }
  printTable(
    ['benchmark', 'ratio', 'goal', 'baseline', 'detail'],
    results.map((r) => [
      r.name,
      r.ratio.toFixed(2),
      r.goal === undefined ? '' : `>= ${r.goal}${benchVerdict(r) === 'ok' ? ' ok' : ' MISSED'}`,
      r.baseline,
      r.detail,
    ]),
  );
  const at = new Date();
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  fs.mkdirSync('test-artifacts', { recursive: true });
  fs.writeFileSync(path.join('test-artifacts', 'bench.json'), JSON.stringify({ at: at.toISOString(), machine, results }, null, 2));
  fs.writeFileSync(path.join('test-artifacts', 'bench.html'), renderBenchReport(results, at, machine));
  console.log('written: test-artifacts/bench.json, test-artifacts/bench.html (the chart)');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
