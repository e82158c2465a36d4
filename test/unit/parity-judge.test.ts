/** When parity may judge a window or an entity (tools/parity/context.ts, lag.ts): pure, no clients. */
import { LagJudge } from '../../tools/parity/context';
import { lagOf } from '../../tools/parity/lag';
import { sampleText, verdictOf } from '../../tools/parity/types';

const now = Date.parse('2026-12-04T12:30:00Z');
const hourEnd = Date.parse('2026-12-04T12:00:00Z');

describe('LagJudge', () => {
  it('judges a closed window once every consumer of its topic has acked what was published before its end', () => {
    // a: oldest unacked 10 min old (published 12:20, after the window's end); b: nothing unacked.
    const judge = new LagJudge(
      new Map([
        ['a', 600],
        ['b', null],
      ]),
      now,
      60_000,
    );
    expect(judge.horizon(['a', 'b'])).toBe(now - 600_000);
    expect(judge.windowPending(['a', 'b'], hourEnd)).toBe(false);
    expect(judge.hasBacklog('a')).toBe(true);
    expect(judge.hasBacklog('b')).toBe(false);
  });

  it('keeps a window pending while a consumer still has a message from before its end, or within the settle time', () => {
    const lagging = new LagJudge(new Map([['a', 45 * 60]]), now, 60_000); // oldest unacked from 11:45
    expect(lagging.windowPending(['a'], hourEnd)).toBe(true);
    // Another topic's consumer does not hold this window back.
    expect(lagging.windowPending(['b'], hourEnd)).toBe(false);
    const settling = new LagJudge(new Map(), now, 60_000);
    expect(settling.windowPending([], now - 30_000)).toBe(true);
    expect(settling.windowPending([], now - 61_000)).toBe(false);
  });

  it('with the lag unknown, judges windows as if drained', () => {
    const judge = new LagJudge(undefined, now, 0);
    expect(judge.known).toBe(false);
    expect(judge.windowPending(['a'], hourEnd)).toBe(false);
    expect(judge.hasBacklog('a')).toBe(false);
  });
});

describe('lagOf', () => {
  it('counts a backlog whose age is not known yet as published now (not drained)', () => {
    const lag = lagOf([
      { consumer: 'a', backlog: 3, oldestUnackedSeconds: null },
      { consumer: 'b', backlog: 0, oldestUnackedSeconds: null },
      { consumer: 'c', backlog: 1, oldestUnackedSeconds: 12.5 },
    ]);
    expect([...lag]).toEqual([
      ['a', 0],
      ['b', null],
      ['c', 12.5],
    ]);
    // Its oldest unacked message counts as published now: the consumer has a backlog, the horizon is now.
    expect(new LagJudge(lag, now, 0).hasBacklog('a')).toBe(true);
    expect(new LagJudge(lag, now, 0).horizon(['a'])).toBe(now);
  });
});

describe('report helpers', () => {
  it('a mismatch anywhere makes the group a mismatch; else pending anywhere makes it pending', () => {
    expect(verdictOf([{ verdict: 'ok' }, { verdict: 'pending' }, { verdict: 'mismatch' }])).toBe('mismatch');
    expect(verdictOf([{ verdict: 'ok' }, { verdict: 'pending' }])).toBe('pending');
    expect(verdictOf([{ verdict: 'ok' }])).toBe('ok');
  });

  it('samples a few ids and says how many more', () => {
    expect(sampleText(['a', 'b'], 3)).toBe('a, b');
    expect(sampleText(['a', 'b', 'c', 'd', 'e'], 2)).toBe('a, b and 3 more');
  });
});
