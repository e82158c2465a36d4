/**
 * The unary puller's settle queue (shared/consumer/settle-queue.ts) against a fake rpc: batching,
 * deadline changes (nacks) before acks in each flush, one batch at a time in turn with lease
 * renewals, and what a waiter is told when Pub/Sub refuses some ack ids.
 */
import { createLogger } from '../../shared/consumer';
import { AckFailedError, SETTLE_BATCH_MS, SettleQueue, type Waiter } from '../../shared/consumer/settle-queue';
import { MAX_IDS_PER_CALL, type SettleRpc } from '../../shared/consumer/subscriber-rpc';

interface Deferred {
  resolve(): void;
  reject(error: Error): void;
}

/** Every call made, in order; each stays unanswered until answered with answer(i) / fail(i). */
function fakeRpc(auto = false) {
  const calls: { method: 'acknowledge' | 'modifyAckDeadline'; ackIds: string[]; seconds?: number; answer: Deferred }[] = [];
  const record = (method: 'acknowledge' | 'modifyAckDeadline', ackIds: string[], seconds?: number) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ method, ackIds, seconds, answer: { resolve, reject } });
      if (auto) resolve();
    });
  const rpc: SettleRpc = {
    acknowledge: (ackIds) => record('acknowledge', ackIds),
    modifyAckDeadline: (ackIds, seconds) => record('modifyAckDeadline', ackIds, seconds),
  };
  const summary = () => calls.map((c) => (c.method === 'acknowledge' ? `ack ${c.ackIds.join(',')}` : `modAck(${c.seconds}) ${c.ackIds.join(',')}`));
  return { rpc, calls, summary };
}

const logLines: { message?: string; messages?: number }[] = [];
const log = createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });

/** Lets pending promise callbacks run (no timers involved). */
const settled = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function waiter(): { waiter: Waiter; result: Promise<'ok' | Error> } {
  let w!: Waiter;
  const result = new Promise<'ok' | Error>((resolve) => (w = { resolve: () => resolve('ok'), reject: (error) => resolve(error) }));
  return { waiter: w, result };
}

beforeEach(() => {
  logLines.length = 0;
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

it('sends nothing until the batch delay has passed, then one call per kind', async () => {
  const { rpc, summary } = fakeRpc(true);
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  queue.ack('a1');
  queue.ack('a2');
  queue.modAck('n1', 0);
  await jest.advanceTimersByTimeAsync(SETTLE_BATCH_MS - 1);
  expect(summary()).toEqual([]);
  queue.ack('a3');
  await jest.advanceTimersByTimeAsync(1);
  expect(summary()).toEqual(['modAck(0) n1', 'ack a1,a2,a3']);
});

it('sends deadline changes (nacks) first and acks only once those are answered', async () => {
  const { rpc, calls, summary } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  // Queued acks first: the order they were queued in does not matter, the kind does.
  queue.ack('a');
  queue.modAck('b', 0);
  queue.ack('c');
  queue.modAck('d', 10);
  queue.modAck('e', 0);
  const flushed = queue.flush();
  await settled();
  expect(summary()).toEqual(['modAck(0) b,e', 'modAck(10) d']); // one call per deadline; no ack yet
  calls[0].answer.resolve();
  await settled();
  expect(summary()).toHaveLength(2); // still waiting for the second deadline change
  calls[1].answer.resolve();
  await settled();
  expect(summary()).toEqual(['modAck(0) b,e', 'modAck(10) d', 'ack a,c']);
  calls[2].answer.resolve();
  await flushed;
});

it('sends acks after the deadline changes even when a deadline change fails', async () => {
  const { rpc, calls, summary } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 'sub-x' });
  queue.modAck('n', 0);
  queue.ack('a');
  const flushed = queue.flush();
  await settled();
  expect(summary()).toEqual(['modAck(0) n']);
  calls[0].answer.reject(new Error('boom'));
  await settled();
  expect(summary()).toEqual(['modAck(0) n', 'ack a']);
  calls[1].answer.resolve();
  await flushed;
  expect(logLines).toEqual([expect.objectContaining({ message: 'modifyAckDeadline failed; Pub/Sub will redeliver', messages: 1, subscription: 'sub-x' })]);
});

it('sends one batch at a time: what is settled meanwhile, and a lease renewal, wait their turn', async () => {
  const { rpc, calls, summary } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  queue.ack('a1');
  const first = queue.flush();
  await settled();
  expect(summary()).toEqual(['ack a1']);
  // A renewal queued now, then a nack: neither goes out before the first batch is answered, and
  // the nack's ModifyAckDeadline(0) goes after the renewal, so the renewal cannot undo it.
  const order: string[] = [];
  const renewal = queue.inTurn(async () => void order.push('renewal'));
  queue.modAck('n1', 0);
  await jest.advanceTimersByTimeAsync(SETTLE_BATCH_MS);
  expect(summary()).toEqual(['ack a1']);
  expect(order).toEqual([]);
  calls[0].answer.resolve();
  await first;
  await renewal;
  expect(order).toEqual(['renewal']);
  await settled();
  expect(summary()).toEqual(['ack a1', 'modAck(0) n1']);
  calls[1].answer.resolve();
});

it('picks up, in its turn, what was queued after it was asked for', async () => {
  const { rpc, calls, summary } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  queue.ack('a1');
  void queue.flush();
  await settled();
  queue.ack('a2');
  const second = queue.flush();
  queue.ack('a3'); // queued before the second batch's turn: it goes with it
  calls[0].answer.resolve();
  await settled();
  expect(summary()).toEqual(['ack a1', 'ack a2,a3']);
  calls[1].answer.resolve();
  await second;
});

it('splits a batch at the ids Pub/Sub takes per call', async () => {
  const { rpc, summary, calls } = fakeRpc(true);
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  for (let i = 0; i < MAX_IDS_PER_CALL + 10; i++) queue.ack(`a${i}`);
  await queue.flush();
  expect(summary()).toHaveLength(2);
  expect(calls.map((c) => c.ackIds.length)).toEqual([MAX_IDS_PER_CALL, 10]);
});

it('tells waiters which ack ids Pub/Sub refused (exactly-once ErrorInfo), and the others that theirs went through', async () => {
  const { rpc, calls } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  const ok = waiter();
  const refused = waiter();
  queue.ack('good', ok.waiter);
  queue.ack('expired', refused.waiter);
  queue.ack('unasked'); // refused too, but nobody waits: logged
  const flushed = queue.flush();
  await settled();
  const errorInfoMetadata = { expired: 'PERMANENT_FAILURE_INVALID_ACK_ID', unasked: 'PERMANENT_FAILURE_INVALID_ACK_ID' };
  calls[0].answer.reject(Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3, errorInfoMetadata }));
  await flushed;
  expect(await ok.result).toBe('ok');
  const error = await refused.result;
  expect(error).toBeInstanceOf(AckFailedError);
  expect((error as AckFailedError).errorCode).toBe('PERMANENT_FAILURE_INVALID_ACK_ID');
  expect(logLines).toEqual([expect.objectContaining({ message: 'acknowledge failed; Pub/Sub will redeliver', messages: 1 })]);
});

it('fails every waiter of a call that failed without per-id reasons', async () => {
  const { rpc, calls } = fakeRpc();
  const queue = new SettleQueue({ rpc, log, subscription: 's' });
  const one = waiter();
  const two = waiter();
  queue.modAck('x', 5, one.waiter);
  queue.modAck('y', 5, two.waiter);
  const flushed = queue.flush();
  await settled();
  calls[0].answer.reject(new Error('14 UNAVAILABLE'));
  await flushed;
  for (const w of [one, two]) {
    const error = await w.result;
    expect(error).toBeInstanceOf(AckFailedError);
    expect((error as Error).message).toBe('modifyAckDeadline failed: 14 UNAVAILABLE');
  }
  expect(logLines).toEqual([]);
});
