export interface BenchResult {
  name: string;
  /** What the ratio is measured against, in the same run. */
  baseline: string;
  /** ours / baseline throughput (higher is better). */
  ratio: number;
  /** Goal the ratio should reach, if the issue sets one. */
  goal?: number;
  detail: string;
}
