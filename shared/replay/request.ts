/**
 * A replay request, checked before anything is read or sent: who asks and why (both required), one
 * consumer, a bounded scope (a time range of publish times, optionally ordering keys, a key range and
 * event types) and a rate ceiling no higher than the consumer's spec allows. Pure: the CLI turns
 * its options into a ReplayInput, and everything after works on the ReplayRequest this returns.
 */
import { randomBytes } from 'node:crypto';
import { parseRfc3339 } from '../envelope/time';
import { UserError } from '../errors';
import { parseRate } from '../spec/duration';
import type { ConsumerSpec, MeshSpec } from '../spec/types';

/** What reaches the consumer: events published in [from, to), narrowed by keys and types. */
export interface ReplayScope {
  topic: string;
  /** Publish time, inclusive, ISO. */
  from: string;
  /** Publish time, exclusive, ISO. */
  to: string;
  /** Only these ordering keys. */
  keys?: string[];
  /** Only ordering keys in [first, last): compared as text, as BigQuery compares STRING. */
  keyRange?: { first: string; last: string };
  /** Only these event types. */
  types?: string[];
}

export interface ReplayRequest {
  /** `rp-<UTC yyyymmddhhmmss>-<6 hex>`: the attribute every replayed message carries (REPLAY_ID_ATTRIBUTE). */
  id: string;
  consumer: string;
  scope: ReplayScope;
  ceilingPerSecond: number;
  /** Who answers for it (a person or team). */
  owner: string;
  /** Why it is run, in words an auditor understands. */
  intent: string;
  /** Who ran the command (the OS user, or the GCP account in GCP). */
  operator: string;
  requestedAt: string;
  /** Clear the keys' projections and dedup records first (rebuild.ts). */
  rebuild?: boolean;
}

/** The CLI's options, as text. */
export interface ReplayInput {
  consumer: string;
  from?: string;
  to?: string;
  keys?: string;
  keyRange?: string;
  types?: string;
  owner?: string;
  intent?: string;
  ceiling?: string;
  rebuild?: boolean;
  operator: string;
}

export { REPLAY_ID_ATTRIBUTE } from './attribute';

/** A clock skew allowance for `--to`: later than this past now is a typo, not a plan. */
const FUTURE_SLACK_MS = 60_000;

export function newReplayId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `rp-${stamp}-${randomBytes(3).toString('hex')}`;
}

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Checks every part of a request; the first problem is thrown as a UserError naming the option. */
export function parseReplayRequest(spec: MeshSpec, input: ReplayInput, now = new Date()): ReplayRequest {
  const consumer = spec.consumers[input.consumer];
  if (!consumer)
    throw new UserError(`no consumer "${input.consumer}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`, { where: '--consumer' });
  const topic = spec.topics[consumer.topic];

  const owner = input.owner?.trim();
  if (!owner) throw new UserError('a replay needs an owner: who answers for it', { where: '--owner' });
  const intent = input.intent?.trim();
  if (!intent) throw new UserError('a replay needs an intent: why it is run, for the audit', { where: '--intent' });

  if (!input.from || !input.to)
    throw new UserError('a replay needs a time range: --from and --to (RFC 3339 publish times, e.g. 2026-12-04T10:00:00Z)', {
      where: input.from ? '--to' : '--from',
    });
  const from = parseRfc3339(input.from);
  if (from === undefined) throw new UserError(`"${input.from}" is not an RFC 3339 time such as 2026-12-04T10:00:00Z`, { where: '--from' });
  const to = parseRfc3339(input.to);
  if (to === undefined) throw new UserError(`"${input.to}" is not an RFC 3339 time such as 2026-12-04T11:00:00Z`, { where: '--to' });
  if (to <= from) throw new UserError(`the range is empty: --to (${input.to}) must be after --from (${input.from})`, { where: '--to' });
  if (to > now.getTime() + FUTURE_SLACK_MS)
    throw new UserError(`--to (${input.to}) is in the future: only what was published can be replayed`, { where: '--to' });

  const keys = list(input.keys);
  let keyRange: ReplayScope['keyRange'];
  if ((keys || input.keyRange) && !topic.orderingKeyField)
    throw new UserError(`topic ${topic.name} has no ordering key, so a replay of ${consumer.name} cannot be scoped by key; scope it by --types and time`, {
      where: keys ? '--keys' : '--key-range',
    });
  if (keys && !keys.length) throw new UserError('--keys names no key', { where: '--keys' });
  if (keys && input.keyRange) throw new UserError('use --keys or --key-range, not both', { where: '--key-range' });
  if (input.keyRange !== undefined) {
    const match = /^(.+)\.\.(.+)$/.exec(input.keyRange);
    if (!match || match[1] >= match[2])
      throw new UserError(`"${input.keyRange}" is not a key range FIRST..LAST with FIRST before LAST (keys from FIRST, up to but not including LAST)`, {
        where: '--key-range',
      });
    keyRange = { first: match[1], last: match[2] };
  }

  const types = list(input.types);
  if (types) {
    const unknown = types.filter((t) => !topic.eventTypes.includes(t));
    if (!types.length || unknown.length)
      throw new UserError(
        `${unknown.length ? `${unknown.join(', ')}: not an event type` : 'no event type given'} of topic ${topic.name} (${topic.eventTypes.join(', ')})`,
        {
          where: '--types',
        },
      );
  }

  if (input.rebuild) {
    assertRebuildable(spec, consumer);
    if (!keys && !keyRange) throw new UserError('a rebuild clears projections per ordering key: name them with --keys or --key-range', { where: '--rebuild' });
    if (types) throw new UserError("a rebuild replays each key's whole history: --types would leave steps out", { where: '--types' });
  }

  const ceilingPerSecond = input.ceiling === undefined ? consumer.replayCeilingPerSecond : replayCeiling(consumer, input.ceiling);

  return {
    id: newReplayId(now),
    consumer: consumer.name,
    scope: {
      topic: topic.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      ...(keys ? { keys } : {}),
      ...(keyRange ? { keyRange } : {}),
      ...(types ? { types } : {}),
    },
    ceilingPerSecond,
    owner,
    intent,
    operator: input.operator,
    requestedAt: now.toISOString(),
    ...(input.rebuild ? { rebuild: true } : {}),
  };
}

/** A `--ceiling` for a consumer: a rate above 0 and no higher than its spec's `replay.ceiling`. */
export function replayCeiling(consumer: ConsumerSpec, text: string): number {
  const perSecond = parseRate(text);
  if (!(perSecond > 0)) throw new UserError(`"${text}" is not a rate such as 200/s or 600/m`, { where: '--ceiling' });
  if (perSecond > consumer.replayCeilingPerSecond)
    throw new UserError(
      `${text} is above ${consumer.name}'s replay ceiling of ${consumer.replayCeilingPerSecond}/s, the most it takes without its real-time traffic missing its SLO`,
      { where: '--ceiling', hint: `raise consumers.${consumer.name}.replay.ceiling in the spec if it can take more` },
    );
  return perSecond;
}

/** The service and topic whose projections a rebuild can clear: the processor's orders. */
const REBUILDABLE = { service: 'processor', topic: 'orders' };

/** Refuses a rebuild of a consumer whose projections cannot be cleared per key. */
export function assertRebuildable(spec: MeshSpec, consumer: ConsumerSpec): void {
  const topic = spec.topics[consumer.topic];
  if (consumer.service !== REBUILDABLE.service || consumer.topic !== REBUILDABLE.topic || !topic.orderingKeyField)
    throw new UserError(
      `${consumer.name} cannot be rebuilt: a rebuild clears projections per ordering key, which only the ${REBUILDABLE.service}'s ${REBUILDABLE.topic} projections are; replay it without --rebuild (its dedup keeps what it applied)`,
      { where: '--rebuild' },
    );
}

/** One line for a scope: `orders, 2026-12-04T10:00:00.000Z..2026-12-04T11:00:00.000Z, keys o1,o2, types order.paid`. */
export function describeScope(scope: ReplayScope): string {
  return [
    `${scope.topic} published ${scope.from} up to ${scope.to}`,
    scope.keys ? `keys ${scope.keys.length > 5 ? `${scope.keys.slice(0, 5).join(',')} and ${scope.keys.length - 5} more` : scope.keys.join(',')}` : '',
    scope.keyRange ? `keys ${scope.keyRange.first}..${scope.keyRange.last}` : '',
    scope.types ? `types ${scope.types.join(',')}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}
