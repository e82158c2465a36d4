/**
 * The fault suite's judge (tools/faults/report.ts) and fuzzer (tools/faults/fuzz.ts), without a mesh:
 * each required figure fails the run when it should, and the fuzzer's cases are reproducible and
 * carry what the mesh must make of them. The suite itself runs against the real mesh
 * (`npm run faults`, `.ci/run` runs `--short`).
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { isWellFormedText } from '../../shared/envelope/well-formed';
import { validHeldAfterKills } from '../../tools/faults/after-kills';
import { Fuzzer, type ValidPayload } from '../../tools/faults/fuzz';
import { formatFaultReport, judgeFaults, type JudgeInput } from '../../tools/faults/report';
import type { ParityReport, ParityRow } from '../../tools/parity/types';

const sizes = { sends: 1, rate: 1, killsPerService: 1, maxUpMs: 1, pushFuzz: 1, pullFuzz: 1, hugeBytes: 10, emulatorRestarts: false };

function parity(rows: Partial<ParityRow>[] = [{}]): { report: ParityReport; verdict: string } {
  const full = rows.map((r): ParityRow => ({
    topic: 'analytics',
    window: 'w',
    start: '',
    end: '',
    check: 'events',
    item: 'view',
    counts: { warehouse: 3, dashboard: 3 },
    verdict: 'ok',
    differences: [],
    ...r,
  }));
  const mismatches = full.filter((r) => r.verdict === 'mismatch').length;
  return {
    report: {
      at: '',
      target: 'local',
      project: 'p',
      granularity: 'minute',
      since: '',
      until: '',
      topics: [],
      rows: full,
      mismatches,
      pending: 0,
      anomalies: {},
      warnings: [],
    },
    verdict: mismatches ? 'mismatch' : 'ok',
  };
}

const held = (messageId: string, reason: string, eventId?: string): HeldMessage => ({
  messageId: `h-${messageId}-${Math.random()}`,
  eventId,
  reason,
  deadLetteredAt: '',
  attributes: { messageId, reason },
});

function input(overrides: Partial<JudgeInput> = {}): JudgeInput {
  return {
    runId: 'r',
    seed: 1,
    sizes,
    elapsedSeconds: 61,
    inputs: {
      events: new Map([['analytics', new Set(['e1', 'e2'])]]),
      poison: [
        { consumer: 'c1', messageId: 'm1', kind: 'ce-id missing', source: 'topic fuzz', reasons: ['missing-attribute'] },
        { consumer: 'c2', messageId: 'm1', kind: 'ce-id missing', source: 'topic fuzz', reasons: ['missing-attribute'] },
      ],
      pushAnswers: [{ consumer: 'c1', kind: 'not JSON', status: 400 }],
      counts: { sends: 3, duplicates: 1, trafficPoison: 0, sendFailures: 0, pullFuzz: 1, refusedAtPublish: 0, pushFuzz: 1 },
      refusedAtPublish: new Map(),
    },
    kills: [{ target: 'processor', pid: 1, at: '', backAfterSeconds: 1 }],
    crashes: { processor: 0 },
    parity: parity(),
    held: new Map([
      ['c1', [held('m1', 'missing-attribute')]],
      ['c2', [held('m1', 'missing-attribute')]],
    ]),
    lost: new Map([['c1', []]]),
    emulators: [],
    ...overrides,
  };
}

describe('judgeFaults', () => {
  it('passes when every figure holds, and says so', () => {
    const report = judgeFaults(input());
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.poison).toMatchObject({ expected: 2, heldOnce: 2 });
    expect(report.published).toMatchObject({ sends: 3, events: 2, duplicates: 1 });
    expect(formatFaultReport(report)).toMatch(/lost {11}0\n.*applied twice {2}0\n.*2 of 2 held once[\s\S]*verdict {8}PASS/);
  });

  it('fails on poison missing from a hold, held twice, held with another reason, or after retries', () => {
    const cases: [Map<string, HeldMessage[]>, RegExp][] = [
      [new Map([['c1', [held('m1', 'missing-attribute')]]]), /1 poison message\(s\) not in their consumer's hold/],
      [
        new Map([
          ['c1', [held('m1', 'missing-attribute'), held('m1', 'missing-attribute')]],
          ['c2', [held('m1', 'missing-attribute')]],
        ]),
        /more than once/,
      ],
      [
        new Map([
          ['c1', [held('m1', 'schema')]],
          ['c2', [held('m1', 'missing-attribute')]],
        ]),
        /unexpected reason/,
      ],
      [
        new Map([
          ['c1', [held('m1', 'max-delivery-attempts')]],
          ['c2', [held('m1', 'missing-attribute')]],
        ]),
        /retried as if transient/,
      ],
    ];
    for (const [holds, failure] of cases) {
      const report = judgeFaults(input({ held: holds }));
      expect(report.ok).toBe(false);
      expect(report.failures.join('\n')).toMatch(failure);
    }
  });

  it('matches a copy Pub/Sub dead-lettered itself by event id, and holds it once only when its service died under every delivery', () => {
    // Pub/Sub's own dead letter: the original attributes (ce-id), no messageId of the runtime's.
    const forwarded: HeldMessage = {
      messageId: 'dlq-9',
      eventId: 'fuzz-1',
      reason: 'max-delivery-attempts',
      deadLetteredAt: '',
      attributes: { 'ce-id': 'fuzz-1' },
    };
    const poison = [{ consumer: 'c1', messageId: 'm7', eventId: 'fuzz-1', kind: 'random bytes', source: 'redrive fuzz' as const, reasons: ['decode'] }];
    const judge = (answered: number | undefined) =>
      judgeFaults(
        input({
          inputs: { ...input().inputs, poison },
          held: new Map([['c1', [forwarded]]]),
          answeredFailures: (consumer, messageId) => (consumer === 'c1' && messageId === 'm7' ? answered : undefined),
        }),
      );
    const killedUnder = judge(0);
    expect(killedUnder.failures).toEqual([]);
    expect(killedUnder.poison).toMatchObject({ heldOnce: 0, heldAfterKills: 1, missing: [], retried: [] });
    expect(formatFaultReport(killedUnder)).toMatch(/1 of 1 held once with a reason \(1 after max delivery attempts, its service killed under every one\)/);
    // The service answered a failure: it was retried as if transient.
    expect(judge(2).failures.join('\n')).toMatch(/retried as if transient/);
    // Nothing known of its deliveries (a pull consumer): retried.
    expect(judge(undefined).failures.join('\n')).toMatch(/retried as if transient/);
    // Without an event id to match, it is missing.
    const unmatched = judgeFaults(
      input({ inputs: { ...input().inputs, poison: [{ ...poison[0], eventId: undefined }] }, held: new Map([['c1', [forwarded]]]) }),
    );
    expect(unmatched.failures.join('\n')).toMatch(/not in their consumer's hold/);
  });

  it('fails on a valid event dead-lettered, lost, or counted above the warehouse', () => {
    const validHeld = judgeFaults(
      input({
        held: new Map([
          ['c1', [held('m1', 'missing-attribute'), held('x', 'handler', 'e1')]],
          ['c2', [held('m1', 'missing-attribute')]],
        ]),
      }),
    );
    expect(validHeld.failures.join()).toMatch(/1 valid event\(s\) dead-lettered/);
    const lost = judgeFaults(input({ lost: new Map([['c1', ['e2']]]) }));
    expect(lost.failures.join()).toMatch(/1 valid event\(s\) lost/);
    expect(lost.lost.sample).toEqual(['c1: e2']);
    const twice = judgeFaults(input({ parity: parity([{ verdict: 'mismatch', counts: { warehouse: 3, dashboard: 4 } }]) }));
    expect(twice.appliedTwice.total).toBe(1);
    expect(twice.failures.join('\n')).toMatch(/applied twice[\s\S]*parity mismatch/);
  });

  it('finds the valid events Pub/Sub held because their service died under every delivery, and reports them redriven', () => {
    const forwarded = (eventId: string): HeldMessage => ({
      messageId: `dlq-${eventId}`,
      eventId,
      reason: 'max-delivery-attempts',
      deadLetteredAt: '',
      attributes: { 'ce-id': eventId },
    });
    const holds = new Map([
      ['c1', [forwarded('e1'), forwarded('e2'), forwarded('e3'), forwarded('fuzz-9'), held('x', 'handler', 'e4')]],
      ['c2', [forwarded('e5')]],
    ]);
    // e1: two sends, one applied (the relay saw no failure), one killed under every delivery.
    // e2: its service answered a failure: retried as transient, not after kills. e3: nothing known
    // (a pull consumer). fuzz-9: not a valid event. e4: held by the runtime for a reason.
    const sends: Record<string, string[]> = { e1: ['m1a', 'm1b'], e2: ['m2'], e3: ['m3'], e4: ['m4'], e5: ['m5'] };
    const answered: Record<string, number> = { 'c1/m1b': 0, 'c1/m2': 1, 'c1/m4': 0, 'c2/m5': 0 };
    const found = validHeldAfterKills(
      holds,
      (id) => sends[id],
      (consumer, messageId) => answered[`${consumer}/${messageId}`],
    );
    expect(Object.fromEntries(found)).toEqual({ c1: ['e1'], c2: ['e5'] });

    const report = judgeFaults(input({ redrivenAfterKills: [{ consumer: 'c1', operationId: 'op-1', eventIds: ['e1'] }] }));
    expect(report.failures).toEqual([]);
    expect(formatFaultReport(report)).toMatch(
      /redriven {7}1 valid event\(s\) Pub\/Sub dead-lettered after their service was killed under every delivery.*c1 1, op-1/,
    );
  });

  it('fails on a crash nobody caused, a wrong push answer, a forged token let in, or an emulator kill the mesh did not survive', () => {
    expect(judgeFaults(input({ crashes: { processor: 1 } })).failures.join()).toMatch(/1 crash/);
    const push = input();
    push.inputs.pushAnswers.push({ consumer: 'c1', kind: 'x', status: 500, wrong: 'answered 500' });
    expect(judgeFaults(push).failures.join()).toMatch(/1 push body/);
    const tokens = judgeFaults(
      input({
        tokens: {
          outcomes: [{ kind: 'alg none', check: 'signature', status: 204, forged: true }],
          accepted: [{ kind: 'alg none', check: 'signature', status: 204, forged: true }],
          leaked: ['f1'],
          controlApplied: false,
        },
      }),
    );
    expect(tokens.failures.join('\n')).toMatch(/1 forged token\(s\) not refused\n1 forged delivery\/deliveries applied\nthe well-formed token was refused/);
    const emulator = judgeFaults(
      input({ emulators: [{ target: 'pubsub emulator', pid: 1, at: '', backAfterSeconds: 3, after: 'mesh smoke failed: x', ok: false }] }),
    );
    expect(emulator.failures.join()).toMatch(/after the kill of the pubsub emulator: mesh smoke failed/);
  });
});

describe('Fuzzer', () => {
  const payload: ValidPayload = { topic: 'orders', type: 'order.created', data: { orderId: 'o1', sequence: 1 }, orderingKey: 'o1' };

  it('is reproducible from its seed', () => {
    const a = new Fuzzer(42, 'r');
    const b = new Fuzzer(42, 'r');
    for (let i = 0; i < 50; i++) {
      const [x, y] = [a.pushBody(payload, { hugeBytes: 100, oversizeBytes: 200 }), b.pushBody(payload, { hugeBytes: 100, oversizeBytes: 200 })];
      expect(x.kind).toBe(y.kind);
      expect(x.expect).toEqual(y.expect);
    }
  });

  it('gives every case what the mesh must make of it; pull attributes stay encodable', () => {
    const fuzzer = new Fuzzer(7, 'r');
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const push = fuzzer.pushBody(payload, { hugeBytes: 100, oversizeBytes: 200 });
      kinds.add(push.expect.outcome);
      if (push.expect.outcome === 'poison') expect(push.expect.reasons.length).toBeGreaterThan(0);
      else expect(push.expect.statuses.every((s) => s >= 400 && s < 500)).toBe(true);
      for (const pull of [fuzzer.topicMessage(payload), fuzzer.redriveMessage(payload, { hugeBytes: 100 })]) {
        expect(pull.reasons.length).toBeGreaterThan(0);
        expect(Object.values(pull.attributes).every(isWellFormedText)).toBe(true);
      }
    }
    expect([...kinds].sort()).toEqual(['poison', 'refused']);
  });
});
