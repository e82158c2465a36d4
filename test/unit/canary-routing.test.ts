/**
 * The canary routing contract (shared/canary/routing.ts): a stable bucket per ordering key or event
 * id, the side a message is on, and a subscription filter that fits Pub/Sub's 256 bytes.
 */
import { BUCKET_ATTRIBUTE, bucketAttribute, bucketIn, bucketOf, canaryFilter, MAX_FILTER_BYTES, parseShare, sideOf } from '../../shared/canary/routing';
import { UserError } from '../../shared/errors';

describe('buckets', () => {
  it('are the same for the same key in every process (FNV-1a), 00..99, and spread evenly', () => {
    expect(bucketOf('o-1')).toBe(bucketOf('o-1'));
    // Known values: a change of hash would move keys across sides mid-canary.
    expect([bucketOf(''), bucketOf('a'), bucketOf('order-42')]).toEqual([2166136261 % 100, 3826002220 % 100, expect.any(Number)]);
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) counts[bucketOf(`order-${i}`)]++;
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
  });

  it('come from the ordering key when there is one (one key, one side), else the event id', () => {
    expect(bucketAttribute('evt-1', 'o-7')).toEqual({ [BUCKET_ATTRIBUTE]: String(bucketOf('o-7')).padStart(2, '0') });
    expect(bucketAttribute('evt-1')).toEqual({ [BUCKET_ATTRIBUTE]: String(bucketOf('evt-1')).padStart(2, '0') });
    expect(bucketIn({ [BUCKET_ATTRIBUTE]: '07' })).toBe(7);
    expect(bucketIn({ [BUCKET_ATTRIBUTE]: '7' })).toBeUndefined();
    expect(bucketIn({})).toBeUndefined();
  });
});

describe('sides', () => {
  it('a share of S% takes buckets 0..S-1; no bucket (a raw producer) is stable', () => {
    expect(sideOf({ [BUCKET_ATTRIBUTE]: '04' }, 5)).toBe('canary');
    expect(sideOf({ [BUCKET_ATTRIBUTE]: '05' }, 5)).toBe('stable');
    expect(sideOf({}, 50)).toBe('stable');
    expect(sideOf(undefined, 50)).toBe('stable');
  });
});

describe('canaryFilter', () => {
  it('selects exactly buckets 0..S-1 and fits 256 bytes', () => {
    // Evaluates the filter the way Pub/Sub would, for each bucket.
    const matches = (filter: string, bucket: string) =>
      filter.split(' OR ').some((clause) => {
        const prefix = /^hasPrefix\(attributes\.mesh_bucket, "(\d)"\)$/.exec(clause);
        if (prefix) return bucket.startsWith(prefix[1]);
        const equals = /^attributes\.mesh_bucket = "(\d\d)"$/.exec(clause);
        if (equals) return bucket === equals[1];
        throw new Error(`unexpected clause ${clause}`);
      });
    for (const share of [1, 5, 10, 15, 25, 50]) {
      const filter = canaryFilter(share);
      expect(Buffer.byteLength(filter)).toBeLessThanOrEqual(MAX_FILTER_BYTES);
      const taken = Array.from({ length: 100 }, (_, b) => String(b).padStart(2, '0')).filter((b) => matches(filter, b));
      expect(taken).toEqual(Array.from({ length: share }, (_, b) => String(b).padStart(2, '0')));
    }
  });

  it('refuses a share no filter can express, naming the nearest that fit', () => {
    expect(() => canaryFilter(9)).toThrow(UserError);
    expect(() => canaryFilter(9)).toThrow(/longer than Pub\/Sub's 256 bytes/);
    try {
      canaryFilter(9);
    } catch (error) {
      expect((error as UserError).hint).toBe('take 7% or 10%');
    }
  });

  it('reads --share as a whole percentage from 1 to 50', () => {
    expect(parseShare('5%')).toBe(5);
    expect(parseShare('10')).toBe(10);
    for (const bad of ['0%', '51%', '2.5%', 'five', '-5']) expect(() => parseShare(bad)).toThrow(/whole percentage from 1% to 50%/);
  });
});
