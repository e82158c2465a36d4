/** Plain-code helpers for deriving expected results from the fixture rows. */

/** Groups items by a key and counts them: [[key, count], ...] in first-seen order. */
export function countBy<T, K>(items: T[], key: (item: T) => K): [K, number][] {
  const counts = new Map<K, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()];
}

/** Sum of decimal texts (NUMERIC), exact, as decimal text without trailing zeros. */
export function decimalSum(values: (string | null)[]): string | null {
  const present = values.filter((v): v is string => v !== null);
  if (!present.length) return null;
  // Scale 9 fixed-point in bigint, like NUMERIC.
  const total = present.reduce((sum, v) => sum + toScaled(v), 0n);
  return fromScaled(total);
}

export function toScaled(v: string): bigint {
  const negative = v.startsWith('-');
  const [whole, frac = ''] = v.replace(/^[-+]/, '').split('.');
  const scaled = BigInt(whole || '0') * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
  return negative ? -scaled : scaled;
}

export function fromScaled(total: bigint): string {
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Epoch seconds of an ISO instant (whole seconds). */
export const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Distinct values in first-seen order. */
export const distinct = <T>(items: T[]) => [...new Set(items)];
