/** bench/trend.ts: a step's backlog judged by its trend over the second half, not by its two ends. */
import { secondHalfGrowth, slope } from '../../bench/trend';

it('fits the least-squares slope, and 0 for a single x', () => {
  expect(
    slope([
      [0, 1],
      [1, 3],
      [2, 5],
    ]),
  ).toBeCloseTo(2);
  expect(
    slope([
      [1, 4],
      [1, 9],
    ]),
  ).toBe(0);
});

it('reads growth over the second half only, from its trend: a saw-tooth that keeps up does not grow', () => {
  const at = (i: number) => i * 1000;
  const sawTooth = Array.from({ length: 20 }, (_, i) => ({ at: at(i), backlog: i % 2 ? 500 : 0 }));
  // Its second half's two ends differ by a whole tooth (500); its trend by much less.
  expect(Math.abs(secondHalfGrowth(sawTooth, 20, (s) => s.backlog)!)).toBeLessThan(250);
  // Flat in the first half, then +100 a second: the second half's 9 s grow by ~900.
  const growing = Array.from({ length: 20 }, (_, i) => ({ at: at(i), backlog: i < 10 ? 0 : (i - 10) * 100 }));
  expect(secondHalfGrowth(growing, 20, (s) => s.backlog)).toBe(900);
  expect(secondHalfGrowth(growing.slice(0, 12), 20, (s) => s.backlog)).toBeUndefined();
});
