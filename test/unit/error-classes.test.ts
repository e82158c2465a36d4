/**
 * Every row of docs/consumers.md "Poison or transient" has a case here that produces its class the
 * way it happens (a spoiled message through the real decoder, a handler's error through the real
 * pipeline), and the verdict and reason must be the row's. The table and the runtime's reason codes
 * must list the same codes, so a new reason without a row (or a row without a case) fails.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import {
  classifyError,
  createDecoder,
  createLogger,
  createPipeline,
  POISON_REASONS,
  PoisonError,
  ServiceStats,
  sinkFailure,
  TransientError,
  type DeadLetterInfo,
  type DeadLetterSink,
  type Handler,
} from '../../shared/consumer';
import { toPubsubMessage, type IncomingMessage } from '../../shared/envelope';
import { docId } from '../../shared/firestore';
import { MeshPublisher } from '../../shared/publisher';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const consumer = spec.consumers['processor-analytics'];
const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });
const decode = createDecoder(spec, consumer);

interface Row {
  cls: string;
  reason: string;
  verdict: string;
}

/** The table's rows: class | `reason` | verdict | cause. */
function docRows(): Row[] {
  const doc = readFileSync(path.join(__dirname, '../../docs/consumers.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Poison or transient'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| class |')));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| class') && !line.startsWith('|---'))
    .map((line) => {
      const [cls, reason, verdict] = line
        .split('|')
        .slice(1)
        .map((cell) => cell.trim());
      return { cls, reason: reason.replace(/`/g, ''), verdict };
    });
}

function message(data: unknown = { userId: 'u1', page: '/home' }): IncomingMessage {
  const { event } = publisher.prepare('analytics', 'click', { userId: 'u1', page: '/home' });
  const out = toPubsubMessage(event);
  return { data: Buffer.from(JSON.stringify(data)), attributes: out.attributes, messageId: 'm1', publishTime: new Date(), deliveryAttempt: 1 };
}

function decodeVerdict(spoil: (m: IncomingMessage) => void) {
  const m = message();
  spoil(m);
  try {
    decode(m);
  } catch (error) {
    return classifyError(error);
  }
  throw new Error('the spoiled message decoded');
}

const thrownVerdict = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return classifyError(error);
  }
  throw new Error('nothing was thrown');
};

const grpcError = (code: number, message: string) => Object.assign(new Error(`${code} ${message}`), { code });

/** What the pipeline dead-letters when the handler fails transiently on the last delivery attempt. */
async function lastAttemptReason(): Promise<string> {
  const letters: DeadLetterInfo[] = [];
  const sink: DeadLetterSink = {
    publish: async (_m, info) => (letters.push(info), 'dl-1'),
    flush: async () => undefined,
  };
  const handler: Handler = async () => {
    throw new TransientError('firestore busy');
  };
  const pipeline = createPipeline({
    spec,
    consumer,
    delivery: 'pull',
    handler,
    deadLetter: sink,
    counters: new ServiceStats('test', [consumer.name]).of(consumer.name),
    log: createLogger({ level: 'silent' }),
  });
  const m = message();
  m.deliveryAttempt = consumer.deadLetter.maxAttempts;
  expect(await pipeline(m, 'sub')).toBe('dead-lettered');
  return letters[0].reason;
}

type Case = () => { kind: string; reason?: string } | Promise<{ kind: string; reason?: string }>;
const hour = 3600_000;

/** class (first cell of a row) + reason -> how it happens. */
const CASES: Record<string, Case> = {
  'decode/not-json': () => decodeVerdict((m) => (m.data = Buffer.from('{oops'))),
  'envelope/missing-attribute': () => decodeVerdict((m) => delete m.attributes['ce-source']),
  'envelope/bad-attribute': () => decodeVerdict((m) => (m.attributes['ce-time'] = '2024-02-30T10:00:00Z')),
  'envelope/unsupported-specversion': () => decodeVerdict((m) => (m.attributes['ce-specversion'] = '0.3')),
  'encoding/bad-encoding': () => decodeVerdict((m) => (m.data = Buffer.from('{"userId":"u\\ud800","page":"/"}'))),
  'size/too-deep': () => decodeVerdict((m) => (m.data = Buffer.from(`{"userId":"u","page":"/","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`))),
  'time/time-out-of-range': () => decodeVerdict((m) => (m.attributes['ce-time'] = new Date(m.publishTime!.getTime() + 2 * hour).toISOString())),
  'type/unknown-type': () => decodeVerdict((m) => (m.attributes['ce-type'] = 'purchase')),
  'schema/schema': () => decodeVerdict((m) => (m.data = Buffer.from('{"userId":5}'))),
  'id/bad-id': () => thrownVerdict(() => docId('p'.repeat(2000), 'post id')),
  'sink/rejected-by-sink': () => classifyError(grpcError(3, 'INVALID_ARGUMENT: Property data contains an invalid nested entity')),
  'handler/handler': () => classifyError(new PoisonError('no post id')),
  'retries/max-attempts': async () => ({ kind: 'poison', reason: await lastAttemptReason() }),
  'declared transient/': () => classifyError(new TransientError('contention')),
  'network, deadline, contention, unavailable/': () => classifyError(grpcError(14, 'UNAVAILABLE: connection reset')),
  'bug/': () => classifyError(new TypeError("Cannot read properties of undefined (reading 'x')")),
};

describe('docs/consumers.md "Poison or transient"', () => {
  const rows = docRows();

  it('lists every reason code the runtime produces, and no other', () => {
    const documented = rows.map((r) => r.reason).filter(Boolean);
    expect([...documented].sort()).toEqual([...POISON_REASONS].sort());
  });

  const runtimeRows = rows.filter((r) => r.cls !== 'size (push)');
  it.each(runtimeRows.map((r) => [`${r.cls}/${r.reason}`, r] as const))('%s: the case gives the row its verdict', async (key, row) => {
    const run = CASES[key];
    expect(run).toBeDefined();
    const verdict = await run();
    expect(verdict.kind).toBe(row.verdict.startsWith('poison') ? 'poison' : 'transient');
    if (row.reason) expect(verdict.reason).toBe(row.reason);
  });

  it('every case is a row of the table', () => {
    expect(Object.keys(CASES).sort()).toEqual(runtimeRows.map((r) => `${r.cls}/${r.reason}`).sort());
  });

  it('keeps Firestore\'s "transaction has expired" transient (its client retries it)', () => {
    expect(classifyError(grpcError(3, 'INVALID_ARGUMENT: The referenced transaction has expired or is no longer valid')).kind).toBe('transient');
  });
});

describe('sinkFailure: a sink write error as the error a handler throws', () => {
  it('makes a sink that refuses the write poison (rejected-by-sink), naming what was written', () => {
    const failure = sinkFailure(grpcError(3, 'INVALID_ARGUMENT: value too long'), 'Firestore write of event e-1 failed');
    expect(failure).toBeInstanceOf(PoisonError);
    expect(failure).toMatchObject({ reason: 'rejected-by-sink', message: expect.stringContaining('event e-1') });
  });

  it('makes an expected transient code a TransientError, keeping the cause', () => {
    const cause = grpcError(14, 'UNAVAILABLE: connection reset');
    const failure = sinkFailure(cause, 'Firestore write of event e-2 failed');
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).cause).toBe(cause);
  });

  it('returns anything unexpected as it is, so the runtime still logs it as unexpected', () => {
    const bug = new TypeError('x is undefined');
    expect(sinkFailure(bug, 'write')).toBe(bug);
    expect(classifyError(sinkFailure(bug, 'write'))).toMatchObject({ kind: 'transient', expected: false });
    const poison = new PoisonError('already decided', 'handler');
    expect(sinkFailure(poison, 'write')).toBe(poison);
  });
});
