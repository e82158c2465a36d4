/**
 * `npm run bench -- --smoke`: every benchmark at a tiny size, to prove each still starts and finishes
 * (CI runs it; .ci/run). Its numbers are not judged and not compared with the baseline: at these sizes
 * they are mostly warm-up. Sizes a user set in the environment win.
 */
export const SMOKE_ENV: Record<string, string> = {
  BENCH_CEILING_RATES: '50',
  BENCH_CEILING_STEP_SECONDS: '4',
  BENCH_CONSUMER_ROUNDS: '1',
  BENCH_CONSUMER_PUSH_MS: '300',
  BENCH_DASHBOARD_PUSH: '200',
  BENCH_DASHBOARD_PULL: '200',
  BENCH_DASHBOARD_CONCURRENCY: '50',
  BENCH_DASHBOARD_EMULATOR_PUSH: '20',
  BENCH_JVM_MESSAGES: '200',
  BENCH_JVM_DOCUMENTS: '400',
  BENCH_JVM_ROUNDS: '1',
  BENCH_MESH_RATES: '50',
  BENCH_MESH_STEP_SECONDS: '4',
  BENCH_MESH_LATENCY_SECONDS: '3',
  BENCH_PROCESSOR_ROUNDS: '1',
  BENCH_PROCESSOR_MS: '300',
  BENCH_PUBLISH_MESSAGES: '200',
  BENCH_PUSH_POST_ROUNDS: '1',
  BENCH_PUSH_POST_MS: '300',
  BENCH_PUBLISH_WARM_UP_ROUNDS: '0',
  BENCH_PUBLISH_COUNTED_ROUNDS: '2',
  BENCH_PULL_ORDERED: '200',
  BENCH_PULL_UNORDERED: '200',
  BENCH_QUERY_ROWS: '2000',
  BENCH_QUERY_ROUNDS: '1',
  BENCH_REPLAY_RUNS: '200x200',
  BENCH_REPLAY_EVENTS: '400',
  BENCH_REPLAY_ORDERS: '20',
  BENCH_REPLAY_BASELINE_SECONDS: '2',
  BENCH_WAREHOUSE_ROWS: '500',
  BENCH_WAREHOUSE_ROUNDS: '1',
  BENCH_WAREHOUSE_LOADER_EVENTS: '300',
  BENCH_WAREHOUSE_LOADER_ROUNDS: '1',
};

/** Sets the smoke sizes the environment does not already set. */
export function applySmokeSizes(env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, value] of Object.entries(SMOKE_ENV)) env[key] ??= value;
}

/** What is wrong with a smoke run's results of one bench file: none, or a non-number ratio. */
export function smokeProblems(file: string, results: { name: string; ratio: number }[]): string[] {
  if (!results.length) return [`${file}: finished without a result`];
  return results.filter((r) => !Number.isFinite(r.ratio)).map((r) => `${file}: "${r.name}" has ratio ${r.ratio}`);
}
