/**
 * The fault run's accounts and verdict, as pure functions (test/unit/faults-report.test.ts): what
 * was published, lost, applied twice, held, refused and crashed, and which required figure failed.
 *
 * Required: 0 lost, 0 applied twice, 0 crashes, every poison held exactly once with an expected
 * reason (never after retries as if transient), every push body that is not a delivery refused with
 * a 4xx and no stack trace, every forged token refused, parity on every window, and after each
 * emulator's kill the mesh agreeing (Firestore) or passing the smoke (Pub/Sub).
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';
import type { ParityReport } from '../parity/types';
import type { KillRecord } from './chaos';
import type { FaultInputs, PoisonExpectation } from './inputs';
import type { TokenPhaseResult } from './tokens';

export interface FaultSizes {
  /** Valid sends at least (they go on while kills remain). */
  sends: number;
  /** Sends a second. */
  rate: number;
  killsPerService: number;
  /** Longest a service runs between two kills, beyond 0.5 s. */
  maxUpMs: number;
  pushFuzz: number;
  pullFuzz: number;
  /** Size of the "few MB" payloads. */
  hugeBytes: number;
  emulatorRestarts: boolean;
}

export interface FaultReport {
  ok: boolean;
  runId: string;
  seed: number;
  elapsedSeconds: number;
  published: {
    sends: number;
    events: number;
    duplicates: number;
    trafficPoison: number;
    sendFailures: number;
    fuzzedMessages: number;
    refusedAtPublish: Record<string, number>;
    pushBodies: number;
    forgedTokens: number;
  };
  /** consumer -> valid events Pub/Sub accepted that its sink lacks (a sample of ids). */
  lost: { total: number; byConsumer: Record<string, number>; sample: string[] };
  /** Sinks above the warehouse (parity rows where a sink counts more). */
  appliedTwice: { total: number; sample: string[] };
  poison: {
    expected: number;
    heldOnce: number;
    missing: PoisonMiss[];
    wrongReason: PoisonMiss[];
    /** Held after Pub/Sub gave up retrying (max-delivery-attempts): treated as transient. */
    retried: PoisonMiss[];
    /** Held after max delivery attempts, every one of which the service died under (answeredFailures 0). */
    heldAfterKills: number;
    /** Valid events a consumer dead-lettered (still held at the end). */
    validHeld: { consumer: string; eventId: string; reason: string }[];
  };
  /**
   * Valid events Pub/Sub dead-lettered after their service was killed under every delivery, which
   * the run redrove (audited) before counting what was lost (after-kills.ts).
   */
  redrivenAfterKills: { consumer: string; operationId: string; eventIds: string[] }[];
  push: { answered: number; refused: number; held: number; wrong: { consumer: string; kind: string; status: number; wrong: string }[] };
  tokens?: { refused: number; accepted: { kind: string; check: string; status: number }[]; leaked: number; controlApplied: boolean };
  kills: Record<string, number>;
  crashes: Record<string, number>;
  parity: { verdict: string; checks: number; mismatches: string[] };
  emulators: (KillRecord & { after: string; ok: boolean })[];
  /** Each required figure that failed, in words. */
  failures: string[];
}

export interface PoisonMiss {
  consumer: string;
  kind: string;
  source: string;
  messageId: string;
  reason?: string;
}

export interface JudgeInput {
  runId: string;
  seed: number;
  sizes: FaultSizes;
  elapsedSeconds: number;
  inputs: Pick<FaultInputs, 'events' | 'poison' | 'pushAnswers' | 'counts' | 'refusedAtPublish'>;
  kills: KillRecord[];
  crashes: Record<string, number>;
  parity: { report: ParityReport; verdict: string };
  held: Map<string, HeldMessage[]>;
  /**
   * For a push consumer's message: how many of its failed deliveries the service answered (an HTTP
   * status), from the local push relay; 0 when every failure was the service dying under it.
   * Undefined when not known (pull consumers).
   */
  answeredFailures?: (consumer: string, messageId: string) => number | undefined;
  lost: Map<string, string[]>;
  redrivenAfterKills?: FaultReport['redrivenAfterKills'];
  tokens?: TokenPhaseResult;
  emulators: FaultReport['emulators'];
}

const SAMPLE = 5;

export function judgeFaults(input: JudgeInput): FaultReport {
  const { inputs, parity } = input;
  const failures: string[] = [];

  // Poison: each expected (consumer, message id) held exactly once, with an expected reason.
  const heldBy = new Map<string, HeldMessage[]>();
  const validIds = new Set([...inputs.events.values()].flatMap((s) => [...s]));
  const validHeld: FaultReport['poison']['validHeld'] = [];
  for (const [consumer, messages] of input.held) {
    for (const m of messages) {
      // Copies the runtime dead-lettered name the message (`messageId`); those Pub/Sub forwarded after
      // max delivery attempts carry only the original attributes: matched by event id.
      const key = m.attributes.messageId
        ? `${consumer}/${m.attributes.messageId}`
        : m.eventId
          ? `${consumer}/event:${m.eventId}`
          : `${consumer}/${m.messageId}`;
      heldBy.set(key, [...(heldBy.get(key) ?? []), m]);
      if (m.eventId && validIds.has(m.eventId)) validHeld.push({ consumer, eventId: m.eventId, reason: m.reason });
    }
  }
  const missing: PoisonMiss[] = [];
  const wrongReason: PoisonMiss[] = [];
  const retried: PoisonMiss[] = [];
  let heldOnce = 0;
  const miss = (p: PoisonExpectation, reason?: string): PoisonMiss => ({
    consumer: p.consumer,
    kind: p.kind,
    source: p.source,
    messageId: p.messageId,
    reason,
  });
  let heldAfterKills = 0;
  for (const p of inputs.poison) {
    const copies = [...(heldBy.get(`${p.consumer}/${p.messageId}`) ?? []), ...(p.eventId ? (heldBy.get(`${p.consumer}/event:${p.eventId}`) ?? []) : [])];
    if (!copies.length) missing.push(miss(p));
    else if (copies.some((m) => m.reason === 'max-delivery-attempts')) {
      // Dead-lettered after its attempts ran out: retried as if transient, unless the service never
      // answered it, i.e. was killed under every delivery (as a crashing Cloud Run instance would be).
      if (copies.length === 1 && input.answeredFailures?.(p.consumer, p.messageId) === 0) heldAfterKills++;
      else retried.push(miss(p, 'max-delivery-attempts'));
    } else if (!copies.every((m) => p.reasons.includes(m.reason))) wrongReason.push(miss(p, copies.map((m) => m.reason).join(',')));
    else if (copies.length === 1) heldOnce++;
    else wrongReason.push(miss(p, `held ${copies.length} times`));
  }
  if (missing.length) failures.push(`${missing.length} poison message(s) not in their consumer's hold`);
  if (retried.length) failures.push(`${retried.length} poison message(s) retried as if transient before Pub/Sub dead-lettered them`);
  if (wrongReason.length) failures.push(`${wrongReason.length} poison message(s) held with an unexpected reason or more than once`);
  if (validHeld.length) failures.push(`${validHeld.length} valid event(s) dead-lettered`);

  // Lost: valid events some consumer's sink lacks.
  const byConsumer: Record<string, number> = {};
  const lostSample: string[] = [];
  for (const [consumer, ids] of input.lost) {
    byConsumer[consumer] = ids.length;
    lostSample.push(...ids.slice(0, SAMPLE).map((id) => `${consumer}: ${id}`));
  }
  const lostTotal = Object.values(byConsumer).reduce((a, b) => a + b, 0);
  if (lostTotal) failures.push(`${lostTotal} valid event(s) lost`);

  // Applied twice: a sink counting more than the warehouse holds.
  const above = parity.report.rows.filter(
    (r) =>
      r.verdict === 'mismatch' &&
      r.counts.warehouse !== undefined &&
      Object.entries(r.counts).some(([sink, n]) => sink !== 'warehouse' && (n ?? 0) > r.counts.warehouse!),
  );
  if (above.length) failures.push(`${above.length} parity check(s) with a sink above the warehouse (applied twice)`);
  const mismatches = parity.report.rows
    .filter((r) => r.verdict !== 'ok')
    .map((r) => `${r.verdict} ${r.topic} ${r.window} ${r.check} ${r.item} ${JSON.stringify(r.counts)} ${r.differences.map((d) => d.summary).join('; ')}`);
  if (parity.verdict !== 'ok') failures.push(`parity ${parity.verdict} on ${mismatches.length} of ${parity.report.rows.length} check(s)`);

  const wrongPush = inputs.pushAnswers.filter((a) => a.wrong).map((a) => ({ consumer: a.consumer, kind: a.kind, status: a.status, wrong: a.wrong! }));
  if (wrongPush.length) failures.push(`${wrongPush.length} push body/bodies answered wrongly`);

  let tokens: FaultReport['tokens'];
  if (input.tokens) {
    const t = input.tokens;
    tokens = {
      refused: t.outcomes.filter((o) => o.forged).length - t.accepted.length,
      accepted: t.accepted.map((o) => ({ kind: o.kind, check: o.check, status: o.status })),
      leaked: t.leaked.length,
      controlApplied: t.controlApplied,
    };
    if (t.accepted.length) failures.push(`${t.accepted.length} forged token(s) not refused`);
    if (t.leaked.length) failures.push(`${t.leaked.length} forged delivery/deliveries applied`);
    if (!t.controlApplied) failures.push('the well-formed token was refused: the token check cannot be judged');
  }

  const crashes = Object.values(input.crashes).reduce((a, b) => a + b, 0);
  if (crashes)
    failures.push(
      `${crashes} crash(es): ${Object.entries(input.crashes)
        .filter(([, n]) => n)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}`,
    );
  for (const e of input.emulators) if (!e.ok) failures.push(`after the kill of the ${e.target}: ${e.after}`);

  const kills: Record<string, number> = {};
  for (const k of input.kills) kills[k.target] = (kills[k.target] ?? 0) + 1;
  const events = [...inputs.events.values()].reduce((n, s) => n + s.size, 0);
  return {
    ok: failures.length === 0,
    runId: input.runId,
    seed: input.seed,
    elapsedSeconds: input.elapsedSeconds,
    published: {
      sends: inputs.counts.sends,
      events,
      duplicates: inputs.counts.duplicates,
      trafficPoison: inputs.counts.trafficPoison,
      sendFailures: inputs.counts.sendFailures,
      fuzzedMessages: inputs.counts.pullFuzz,
      refusedAtPublish: Object.fromEntries(inputs.refusedAtPublish),
      pushBodies: inputs.counts.pushFuzz,
      forgedTokens: input.tokens?.outcomes.filter((o) => o.forged).length ?? 0,
    },
    lost: { total: lostTotal, byConsumer, sample: lostSample.slice(0, SAMPLE) },
    appliedTwice: { total: above.length, sample: above.slice(0, SAMPLE).map((r) => `${r.topic} ${r.window} ${r.check} ${r.item} ${JSON.stringify(r.counts)}`) },
    poison: { expected: inputs.poison.length, heldOnce, heldAfterKills, missing, wrongReason, retried, validHeld },
    redrivenAfterKills: input.redrivenAfterKills ?? [],
    push: {
      answered: inputs.pushAnswers.filter((a) => a.status > 0).length,
      refused: inputs.pushAnswers.filter((a) => a.status >= 400 && a.status < 500).length,
      held: inputs.pushAnswers.filter((a) => a.status === 204).length,
      wrong: wrongPush,
    },
    tokens,
    kills,
    crashes: input.crashes,
    parity: { verdict: parity.verdict, checks: parity.report.rows.length, mismatches },
    emulators: input.emulators,
    failures,
  };
}

/** The report for a terminal: the required figures first, then what failed, with samples. */
export function formatFaultReport(r: FaultReport): string {
  const lines: string[] = [];
  const p = r.published;
  const refused = Object.entries(p.refusedAtPublish).map(([why, n]) => `${n} ${why}`);
  lines.push(`fault run ${r.runId} (seed ${r.seed}), ${Math.floor(r.elapsedSeconds / 60)}m ${r.elapsedSeconds % 60}s`);
  lines.push(
    `published      ${p.sends} sends (${p.events} distinct events, ${p.duplicates} duplicates, ${p.trafficPoison} poison; ${p.sendFailures} failed), ` +
      `${p.fuzzedMessages} fuzzed messages (${refused.length ? `refused at publish: ${refused.join('; ')}` : 'none refused at publish'}), ` +
      `${p.pushBodies} fuzzed push bodies, ${p.forgedTokens} forged tokens`,
  );
  lines.push(
    `kills          ${
      Object.entries(r.kills)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ') || 'none'
    } (kill -9)`,
  );
  lines.push(
    `lost           ${r.lost.total}${
      r.lost.total
        ? ` (${Object.entries(r.lost.byConsumer)
            .filter(([, n]) => n)
            .map(([c, n]) => `${c} ${n}`)
            .join(', ')}; e.g. ${r.lost.sample.join(', ')})`
        : ''
    }`,
  );
  lines.push(`applied twice  ${r.appliedTwice.total}${r.appliedTwice.total ? ` (${r.appliedTwice.sample.join('; ')})` : ''}`);
  lines.push(
    `poison held    ${r.poison.heldOnce + r.poison.heldAfterKills} of ${r.poison.expected} held once with a reason` +
      `${r.poison.heldAfterKills ? ` (${r.poison.heldAfterKills} after max delivery attempts, its service killed under every one)` : ''}` +
      `${r.poison.missing.length ? `; ${r.poison.missing.length} missing` : ''}${r.poison.wrongReason.length ? `; ${r.poison.wrongReason.length} wrong reason or copies` : ''}` +
      `${r.poison.retried.length ? `; ${r.poison.retried.length} retried as transient` : ''}${r.poison.validHeld.length ? `; ${r.poison.validHeld.length} valid events held` : ''}`,
  );
  const redriven = r.redrivenAfterKills.reduce((n, x) => n + x.eventIds.length, 0);
  if (redriven)
    lines.push(
      `redriven       ${redriven} valid event(s) Pub/Sub dead-lettered after their service was killed under every delivery, sent back before counting lost (${r.redrivenAfterKills
        .map((x) => `${x.consumer} ${x.eventIds.length}, ${x.operationId}`)
        .join('; ')})`,
    );
  lines.push(`crashes        ${Object.values(r.crashes).reduce((a, b) => a + b, 0)}`);
  lines.push(`push bodies    ${r.push.answered} answered: ${r.push.refused} refused (4xx), ${r.push.held} poison held (204), ${r.push.wrong.length} wrong`);
  if (r.tokens)
    lines.push(
      `forged tokens  ${r.tokens.refused} refused, ${r.tokens.accepted.length} accepted, ${r.tokens.leaked} applied; well-formed token ${r.tokens.controlApplied ? 'applied' : 'NOT applied'}`,
    );
  lines.push(`parity         ${r.parity.verdict} (${r.parity.checks} checks)`);
  for (const e of r.emulators) lines.push(`emulator       kill -9 ${e.target}: back after ${e.backAfterSeconds} s; ${e.after}`);
  lines.push(r.ok ? 'verdict        PASS' : `verdict        FAIL\n${r.failures.map((f) => `  - ${f}`).join('\n')}`);
  const samples = (title: string, items: string[]) => {
    if (items.length)
      lines.push(
        `${title}:\n${items
          .slice(0, 10)
          .map((i) => `  ${i}`)
          .join('\n')}${items.length > 10 ? `\n  ... ${items.length - 10} more` : ''}`,
      );
  };
  const missText = (m: PoisonMiss) => `${m.consumer} ${m.source} "${m.kind}" ${m.messageId}${m.reason ? ` (${m.reason})` : ''}`;
  samples('poison not held', r.poison.missing.map(missText));
  samples('poison held wrongly', r.poison.wrongReason.map(missText));
  samples('poison retried', r.poison.retried.map(missText));
  samples(
    'valid events held',
    r.poison.validHeld.map((v) => `${v.consumer} ${v.eventId} (${v.reason})`),
  );
  samples(
    'push answers',
    r.push.wrong.map((w) => `${w.consumer} "${w.kind}": ${w.wrong}`),
  );
  samples('forged tokens accepted', r.tokens?.accepted.map((a) => `${a.check}: ${a.kind} -> ${a.status}`) ?? []);
  samples('parity', r.parity.mismatches);
  return lines.join('\n');
}
