/**
 * How the consumer bench measures: the sides take turns in short slices, so load from other
 * processes hits them alike, and a slice counts what completes with N in flight until its time is up.
 */

export interface Sample {
  count: number;
  seconds: number;
}

/**
 * `rounds` rounds of `slices` turns per side, the side going first rotating every turn. Returns each
 * side's rate over all its slices (total) and per round.
 */
export async function interleaved<S extends string>(
  sides: readonly S[],
  rounds: number,
  slices: number,
  slice: (side: S) => Promise<Sample>,
  onRound: (round: number, rates: Record<S, number>) => void,
): Promise<{ total: Record<S, number>; rounds: Record<S, number>[] }> {
  const empty = () => Object.fromEntries(sides.map((side) => [side, { count: 0, seconds: 0 }])) as Record<S, Sample>;
  const rateOf = (samples: Record<S, Sample>) =>
    Object.fromEntries(sides.map((side) => [side, samples[side].count / samples[side].seconds])) as Record<S, number>;
  const sum = empty();
  const perRound: Record<S, number>[] = [];
  let turn = 0;
  for (let round = 1; round <= rounds; round++) {
    const inRound = empty();
    for (let k = 0; k < slices; k++, turn++) {
      const shift = turn % sides.length;
      for (const side of [...sides.slice(shift), ...sides.slice(0, shift)]) {
        const sample = await slice(side);
        for (const acc of [inRound[side], sum[side]]) {
          acc.count += sample.count;
          acc.seconds += sample.seconds;
        }
      }
    }
    perRound.push(rateOf(inRound));
    onRound(round, perRound[perRound.length - 1]);
  }
  return { total: rateOf(sum), rounds: perRound };
}

/** Runs `work(i)` for i = 0, 1, 2 ... with `concurrency` in flight until `ms` have passed. */
export function throughput(concurrency: number, ms: number, work: (i: number) => Promise<void>): Promise<Sample> {
  let next = 0;
  return throughputWithLanes(concurrency, ms, () => () => work(next++));
}

/** Like throughput(), but each lane gets its own task function from `makeLane` (per-lane state). */
export async function throughputWithLanes(concurrency: number, ms: number, makeLane: () => () => Promise<void>): Promise<Sample> {
  let completed = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + ms;
  const lane = async (task: () => Promise<void>) => {
    while (Date.now() < deadline) {
      await task();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => lane(makeLane())));
  return { count: completed, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}
