/** Least-squares slope of y over x: a backlog's trend over a step, where its two ends would be noise. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
}

/** Backlog growth allowed over a step's second half, in seconds of the topic's traffic (sampling jitter). */
export const GROWTH_SECONDS = 2;

/**
 * How much a backlog grew over the second half of a step, by its trend: `samples` are taken at `at`
 * ms from the step's start, `backlogOf` reads one consumer's backlog from a sample. The trend, not the
 * two ends: a batching consumer (the warehouse acks a batch at a time) has a saw-tooth backlog whose
 * ends differ by up to a batch even when it keeps up. Undefined with fewer than 3 samples there.
 */
export function secondHalfGrowth<S extends { at: number }>(samples: S[], stepSeconds: number, backlogOf: (sample: S) => number): number | undefined {
  const secondHalf = samples.filter((s) => s.at >= (stepSeconds * 1000) / 2);
  if (secondHalf.length < 3) return undefined;
  const seconds = (secondHalf[secondHalf.length - 1].at - secondHalf[0].at) / 1000;
  return Math.round(slope(secondHalf.map((s) => [s.at / 1000, backlogOf(s)])) * seconds);
}
