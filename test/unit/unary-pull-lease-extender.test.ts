/**
 * The unary puller's lease extender (shared/consumer/lease-extender.ts) with fake timers: what is
 * renewed when, what no longer is (settled, or out past maxLeaseMs), and that a renewal runs in its
 * turn among the settle calls and reads the leases only then.
 */
import { createLogger } from '../../shared/consumer';
import { LeaseExtender } from '../../shared/consumer/lease-extender';
import { SettleQueue } from '../../shared/consumer/settle-queue';
import { MAX_IDS_PER_CALL } from '../../shared/consumer/subscriber-rpc';

const logLines: { message?: string; messages?: number; subscription?: string }[] = [];
const log = createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });

/** Renewals made: [ack ids, seconds], answered at once unless `fail` says otherwise. */
function extender(options: { leaseSeconds: number; maxLeaseMs?: number; fail?: Error; inTurn?: (task: () => Promise<void>) => Promise<void> }) {
  const renewals: [string[], number][] = [];
  const leases = new LeaseExtender({
    leaseSeconds: options.leaseSeconds,
    maxLeaseMs: options.maxLeaseMs,
    rpc: {
      modifyAckDeadline: async (ackIds, seconds) => {
        renewals.push([ackIds, seconds]);
        if (options.fail) throw options.fail;
      },
    },
    inTurn: options.inTurn ?? ((task) => task()),
    log,
    subscription: 'sub-l',
  });
  return { leases, renewals };
}

beforeEach(() => {
  logLines.length = 0;
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

it('renews everything out every third of the lease, at the lease', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 30 });
  leases.add('a');
  leases.add('b');
  leases.start();
  await jest.advanceTimersByTimeAsync(9_999);
  expect(renewals).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(renewals).toEqual([[['a', 'b'], 30]]);
  leases.add('c');
  await jest.advanceTimersByTimeAsync(10_000);
  expect(renewals).toEqual([
    [['a', 'b'], 30],
    [['a', 'b', 'c'], 30],
  ]);
  leases.stop();
});

it('renews at most every second however short the lease', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 1 });
  leases.add('a');
  leases.start();
  await jest.advanceTimersByTimeAsync(999);
  expect(renewals).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(renewals).toHaveLength(1);
  leases.stop();
});

it('no longer renews a settled message, and says whether it was out', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 30 });
  leases.add('a');
  leases.add('b');
  leases.start();
  expect(leases.remove('a')).toBe(true);
  expect(leases.remove('a')).toBe(false); // a second settle
  expect(leases.size).toBe(1);
  await jest.advanceTimersByTimeAsync(10_000);
  expect(renewals).toEqual([[['b'], 30]]);
  leases.stop();
});

it('leaves a message out past maxLeaseMs to expire, and keeps it out (its slot stays taken)', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 30, maxLeaseMs: 25_000 });
  leases.add('old');
  leases.start();
  await jest.advanceTimersByTimeAsync(15_000);
  leases.add('young');
  await jest.advanceTimersByTimeAsync(5_000); // 'old' is 20 s out: still renewed
  expect(renewals).toEqual([
    [['old'], 30],
    [['old', 'young'], 30],
  ]);
  await jest.advanceTimersByTimeAsync(10_000); // 'old' is 30 s out
  expect(renewals.at(-1)).toEqual([['young'], 30]);
  expect(leases.ackIds()).toEqual(['old', 'young']);
  leases.stop();
});

it('stops renewing once stopped', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 3 });
  leases.add('a');
  leases.start();
  await jest.advanceTimersByTimeAsync(1000);
  leases.stop();
  await jest.advanceTimersByTimeAsync(10_000);
  expect(renewals).toHaveLength(1);
});

it('lists what is out in the order it was pulled', () => {
  const { leases } = extender({ leaseSeconds: 10 });
  for (const id of ['3', '1', '2']) leases.add(id);
  leases.remove('1');
  leases.add('1');
  expect(leases.ackIds()).toEqual(['3', '2', '1']);
});

it('logs a failed renewal and goes on', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 3, fail: new Error('14 UNAVAILABLE') });
  leases.add('a');
  leases.add('b');
  await expect(leases.renew()).resolves.toBeUndefined();
  expect(renewals).toHaveLength(1);
  expect(logLines).toEqual([
    expect.objectContaining({ message: 'lease renewal failed; these messages may be redelivered', messages: 2, subscription: 'sub-l' }),
  ]);
});

it('splits a renewal at the ids Pub/Sub takes per call', async () => {
  const { leases, renewals } = extender({ leaseSeconds: 60 });
  for (let i = 0; i < MAX_IDS_PER_CALL + 1; i++) leases.add(`m${i}`);
  await leases.renew();
  expect(renewals.map(([ids]) => ids.length)).toEqual([MAX_IDS_PER_CALL, 1]);
});

it('waits for its turn behind the settle calls and reads the leases only then, so a nacked message is not renewed after its nack', async () => {
  // The real settle queue, its Acknowledge held unanswered: the renewal due meanwhile waits.
  const sent: string[] = [];
  let answerAck!: () => void;
  const queue = new SettleQueue({
    rpc: {
      acknowledge: (ids) => {
        sent.push(`ack ${ids.join(',')}`);
        return new Promise<void>((resolve) => (answerAck = resolve));
      },
      modifyAckDeadline: async (ids, seconds) => void sent.push(`modAck(${seconds}) ${ids.join(',')}`),
    },
    log,
    subscription: 's',
  });
  const leases = new LeaseExtender({
    leaseSeconds: 3,
    rpc: { modifyAckDeadline: async (ids, seconds) => void sent.push(`renew(${seconds}) ${ids.join(',')}`) },
    inTurn: (task) => queue.inTurn(task),
    log,
    subscription: 's',
  });
  leases.add('acked');
  leases.add('nacked');
  leases.add('kept');
  leases.start();
  leases.remove('acked');
  queue.ack('acked');
  const flushed = queue.flush();
  await jest.advanceTimersByTimeAsync(1000); // the renewal is due; the ack is not answered yet
  expect(sent).toEqual(['ack acked']);
  // Nacked while the renewal waits for its turn: the renewal leaves it out.
  leases.remove('nacked');
  queue.modAck('nacked', 0);
  answerAck();
  await flushed;
  await jest.advanceTimersByTimeAsync(20); // the nack's batch
  expect(sent).toEqual(['ack acked', 'renew(3) kept', 'modAck(0) nacked']);
  leases.stop();
});
