/**
 * The committed baseline (bench/baseline.json): each benchmark's ratio from a run someone chose to
 * keep (`npm run bench -- --update-baseline`). A later run compares its ratios with it: one more
 * than REGRESSION_TOLERANCE under its baseline is a regression. Ratios, not rates, are kept: each is
 * measured against its own baseline in the same run, so they travel between machines far better.
 */
import * as fs from 'node:fs';
import type { BenchResult } from './types';

/** 15 %: the spread of one ratio between runs on a noisy 2-core machine stays within about 10 %. */
export const REGRESSION_TOLERANCE = 0.15;

export interface BenchBaseline {
  /** When and where the kept run was measured, and with what. */
  updatedAt: string;
  machine: string;
  command: string;
  /** Benchmark name -> its ratio. */
  ratios: Record<string, number>;
  /** What the one who kept it should know about that run; an update drops it. */
  note?: string;
}

export interface BaselineComparison {
  name: string;
  ratio: number;
  /** Undefined: a benchmark the baseline does not know yet (new, or renamed). */
  baseline?: number;
  /** ratio / baseline - 1: -0.2 is 20 % under. */
  change?: number;
  regression: boolean;
}

export function readBaseline(file: string): BenchBaseline | undefined {
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<BenchBaseline>;
  if (!parsed.ratios || typeof parsed.ratios !== 'object') throw new Error(`${file}: no "ratios" object; rewrite it with npm run bench -- --update-baseline`);
  return parsed as BenchBaseline;
}

export function compareWithBaseline(results: BenchResult[], baseline: BenchBaseline | undefined, tolerance = REGRESSION_TOLERANCE): BaselineComparison[] {
  return results.map((r) => {
    const kept = baseline?.ratios[r.name];
    if (kept === undefined || !(kept > 0)) return { name: r.name, ratio: r.ratio, regression: false };
    const change = r.ratio / kept - 1;
    return { name: r.name, ratio: r.ratio, baseline: kept, change, regression: change < -tolerance };
  });
}

/**
 * The baseline after this run: its ratios replace the kept ones of the benchmarks it ran; the others
 * (not selected this time) stay as they were.
 */
export function updatedBaseline(previous: BenchBaseline | undefined, results: BenchResult[], at: Date, machine: string, command: string): BenchBaseline {
  const ratios: Record<string, number> = { ...(previous?.ratios ?? {}) };
  // A zero ratio (nothing sustained) is no baseline to fall under.
  for (const r of results) if (Number.isFinite(r.ratio) && r.ratio > 0) ratios[r.name] = Number(r.ratio.toFixed(3));
  const sorted = Object.fromEntries(Object.entries(ratios).sort(([a], [b]) => a.localeCompare(b)));
  return { updatedAt: at.toISOString(), machine, command, ratios: sorted };
}

/** "-20 %" / "+4 %" for a change, "new" for a benchmark the baseline lacks. */
export function describeChange(c: BaselineComparison): string {
  if (c.change === undefined) return 'new';
  const percent = Math.round(c.change * 100);
  return `${percent >= 0 ? '+' : ''}${percent} % vs ${c.baseline!.toFixed(2)}${c.regression ? ' REGRESSION' : ''}`;
}
