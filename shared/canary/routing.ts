/**
 * Which side of a canary rollout a message belongs to: a stable share of the traffic, decided by a
 * bucket the publisher writes on every message, so the same rule holds in Pub/Sub's subscription
 * filter (GCP) and in the runtime (locally, where the emulator ignores filters).
 *
 * The bucket (0..99) is a hash of the message's ordering key, else its event id: an ordered
 * consumer's key is always on one side (its per-key order holds), and an unordered consumer's
 * events spread evenly. A canary of share S% takes buckets 0..S-1. A message without the attribute
 * (a raw-client producer that did not set it) is the stable side's.
 *
 * Google's filter rules this has to fit (https://cloud.google.com/pubsub/docs/subscription-message-filter):
 * "The maximum length of a filter is 256 bytes. After creating the subscription, you can't modify
 * the filter"; attribute keys of "hyphens, underscores, or alphanumeric characters" need no quoting;
 * operators `=`, `!=`, `:`, `hasPrefix(attributes.key, "prefix")`, joined with AND, OR, NOT.
 * There is no less-than, so a share is written as prefixes of whole tens plus single buckets.
 */
import { UserError } from '../errors';

/** The message attribute holding the bucket, two digits `00`..`99`. */
export const BUCKET_ATTRIBUTE = 'mesh_bucket';
export const BUCKETS = 100;
/** Pub/Sub's limit on a subscription filter, in bytes. */
export const MAX_FILTER_BYTES = 256;
/** A canary above half the traffic is a rollout, not a canary. */
export const MAX_CANARY_SHARE = 50;

/** FNV-1a (32 bit) of the key's UTF-8 bytes, mod BUCKETS: stable across processes, releases and languages. */
export function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % BUCKETS;
}

export const bucketText = (bucket: number) => String(bucket).padStart(2, '0');

/** The attribute a publisher adds: from the ordering key when the message has one, else the event id. */
export function bucketAttribute(eventId: string, orderingKey?: string): Record<string, string> {
  return { [BUCKET_ATTRIBUTE]: bucketText(bucketOf(orderingKey || eventId)) };
}

/** A message's bucket, or undefined when it has none (or not one this module wrote). */
export function bucketIn(attributes: Readonly<Record<string, string>> | undefined): number | undefined {
  const text = attributes?.[BUCKET_ATTRIBUTE];
  return text !== undefined && /^\d\d$/.test(text) ? Number(text) : undefined;
}

export type CanarySide = 'canary' | 'stable';

/** The side a message is on while a canary takes `share` percent. */
export function sideOf(attributes: Readonly<Record<string, string>> | undefined, share: number): CanarySide {
  const bucket = bucketIn(attributes);
  return bucket !== undefined && bucket < share ? 'canary' : 'stable';
}

/** `5%` or `5` -> 5; refused unless a whole percentage from 1 to MAX_CANARY_SHARE that a filter can express. */
export function parseShare(text: string): number {
  const match = /^\s*(\d+)\s*%?\s*$/.exec(text);
  const share = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(share) || share < 1 || share > MAX_CANARY_SHARE)
    throw new UserError(`--share "${text}" must be a whole percentage from 1% to ${MAX_CANARY_SHARE}%`, { where: '--share' });
  canaryFilter(share); // refuses a share whose filter does not fit
  return share;
}

/** The filter for buckets 0..share-1, whatever its length. */
function filterFor(share: number): string {
  const tens = Math.floor(share / 10);
  return [
    ...Array.from({ length: tens }, (_, t) => `hasPrefix(attributes.${BUCKET_ATTRIBUTE}, "${t}")`),
    ...Array.from({ length: share % 10 }, (_, i) => `attributes.${BUCKET_ATTRIBUTE} = "${bucketText(tens * 10 + i)}"`),
  ].join(' OR ');
}

const fits = (share: number) => Buffer.byteLength(filterFor(share)) <= MAX_FILTER_BYTES;

/**
 * The Pub/Sub filter of the canary subscription: buckets 0..share-1, as `hasPrefix` on whole tens and
 * `=` on the rest. Refused (UserError) past Pub/Sub's 256 bytes, naming the nearest shares that fit.
 */
export function canaryFilter(share: number): string {
  if (fits(share)) return filterFor(share);
  let below = share - 1;
  while (below > 0 && !fits(below)) below--;
  let above = share + 1;
  while (above <= MAX_CANARY_SHARE && !fits(above)) above++;
  throw new UserError(`a ${share}% canary needs a subscription filter longer than Pub/Sub's ${MAX_FILTER_BYTES} bytes`, {
    where: '--share',
    hint: `take ${below}%${above <= MAX_CANARY_SHARE ? ` or ${above}%` : ''}`,
  });
}
