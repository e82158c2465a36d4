/** The mesh's Firestore contract (shared/firestore): the one document-id rule, the one hash, the paths. */
import { PoisonError } from '../../shared/consumer';
import { docId, firestorePaths, fnv1a32, fromDocId, isValidDocId, shardOf } from '../../shared/firestore';

/** Values that exercise every branch of the rule. */
const VALUES = [
  'order-1',
  '0190a3b2-7c4d-7e8f-9a0b-000000000001',
  'user@example.com',
  'a b',
  'ünïcødé 😀',
  '.a',
  '...',
  '_x_',
  '__x',
  'a/b',
  'a%2Fb',
  '50%',
  '%',
  '.',
  '..',
  '__x__',
  '____',
  '__a/b__',
  '/',
  'x'.repeat(1500),
];

describe('docId: the one document-id rule', () => {
  it('keeps a value that is a valid Firestore id and holds no % as it is', () => {
    const kept = ['order-1', 'user@example.com', 'a b', 'ünïcødé 😀', '.a', '...', '_x_', '__x', 'x'.repeat(1500)];
    for (const value of kept) expect(docId(value, 'v')).toBe(value);
  });

  it('percent-encodes every other value into a valid id', () => {
    expect(docId('a/b', 'v')).toBe('a%2Fb');
    expect(docId('a%2Fb', 'v')).toBe('a%252Fb');
    expect(docId('50%', 'v')).toBe('50%25');
    expect(docId('.', 'v')).toBe('%2E');
    expect(docId('..', 'v')).toBe('%2E%2E');
    expect(docId('__x__', 'v')).toBe('%5F_x__');
    expect(docId('__a/b__', 'v')).toBe('%5F_a%2Fb__');
    for (const value of VALUES) expect(isValidDocId(docId(value, 'v'))).toBe(true);
  });

  it('is one-to-one and fromDocId reverses it', () => {
    const ids = VALUES.map((v) => docId(v, 'v'));
    expect(new Set(ids).size).toBe(VALUES.length);
    for (const value of VALUES) expect(fromDocId(docId(value, 'v'))).toBe(value);
  });

  it('refuses, as poison bad-id, only what cannot be an id even encoded', () => {
    for (const bad of ['', 'x'.repeat(1501), 'é'.repeat(751), `${'x'.repeat(1499)}/`, 'a\uD800b']) {
      let error: unknown;
      try {
        docId(bad, 'orderId');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PoisonError);
      expect(error).toMatchObject({ reason: 'bad-id', message: expect.stringContaining('orderId') });
    }
  });

  it('finds what the earlier rules wrote: the processor kept valid ids as they were, the dashboard percent-encoded', () => {
    // Processor (refused the rest): the same ids, except values holding % (now encoded).
    for (const value of VALUES.filter((v) => isValidDocId(v) && !v.includes('%'))) expect(docId(value, 'v')).toBe(value);
    // Dashboard (encodeURIComponent; refused what that left invalid): every id it wrote reads back to its value...
    const dashboardWrote = VALUES.map((v) => [v, encodeURIComponent(v)]).filter(([, id]) => isValidDocId(id));
    for (const [value, id] of dashboardWrote) expect(fromDocId(id)).toBe(value);
    // ...and is the same id now when the value held % or / or nothing encodeURIComponent changes.
    for (const [value, id] of dashboardWrote) if (/[%/]/.test(value) || id === value) expect(docId(value, 'v')).toBe(id);
  });
});

describe('fnv1a32: the one hash', () => {
  it('gives the published FNV-1a 32-bit test vectors', () => {
    // http://www.isthe.com/chongo/src/fnv/test_fnv.c (FNV1A_32): "" "a" "foobar"
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-16 code units (as both services did), and shards by it', () => {
    expect(fnv1a32('é')).toBe(Math.imul(0x811c9dc5 ^ 0xe9, 0x01000193) >>> 0);
    expect(shardOf('foobar', 10)).toBe(0xbf9cf968 % 10);
    expect(shardOf('abc', 10)).toBe(0x1a47e90b % 10);
  });
});

describe('firestorePaths', () => {
  it('places every document with its values made ids', () => {
    expect(firestorePaths.dedup('processor-orders', 'a/b')).toBe('consumers/processor-orders/dedup/a%2Fb');
    expect(firestorePaths.anomaly('o-1', 'e-1')).toBe('orders/o-1/anomalies/e-1');
    expect(firestorePaths.user('u/1')).toBe('users/u%2F1');
    expect(firestorePaths.likeShard('p-1', 3)).toBe('posts/p-1/likeShards/3');
    expect(firestorePaths.dashboardShard('minute', 'w', 2)).toBe('dashboard/minute/shards/w_2');
    expect(firestorePaths.dashboardSketch('hour', 'w', 'abc', 1)).toBe('dashboard/hour/sketches/w_abc_1');
    expect(firestorePaths.dashboardLike('minute', 'w', 2, 1)).toBe('dashboard/minute/windows/w/likes/2_1');
  });
});
