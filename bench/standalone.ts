/** Lets a bench file run on its own (`npx tsx bench/<name>.bench.ts`) as well as from bench/index.ts. */
import type { BenchResult } from './types';

export function runWhenMain(mod: NodeModule, run: (progress: (line: string) => void) => Promise<BenchResult[]>): void {
  if (require.main !== mod) return;
  run(console.log)
    .then((results) => console.table(results))
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
