/** Durations in the spec are written as "30s", "10m", "7d" or "1h30m"; everything else works in seconds. */
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(amount) * UNIT_SECONDS[unit];
  return total;
}

/** Pub/Sub and Pulumi take durations as "<seconds>s". */
export function toProtoDuration(seconds: number): string {
  return `${Math.round(seconds)}s`;
}

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** A span read at a glance, one decimal at most: 604800 -> "7 d", 5400 -> "1.5 h", 480 -> "8 min". */
export function approxDuration(seconds: number): string {
  if (seconds >= 86400) return `${+(seconds / 86400).toFixed(1)} d`;
  if (seconds >= 3600) return `${+(seconds / 3600).toFixed(1)} h`;
  return `${+(seconds / 60).toFixed(1)} min`;
}

/** `100/s` -> 100, `600/m` -> 10: events per second. */
export function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\/(s|m)$/.exec(text.trim());
  if (!match) return NaN;
  return Number(match[1]) / (match[2] === 'm' ? 60 : 1);
}

/** A consumer's replay ceiling when its spec names none: well under what one local service keeps up with. */
export const DEFAULT_REPLAY_CEILING = '100/s';
