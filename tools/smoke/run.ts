/**
 * `mesh smoke`, the part that does not print: publish the run's mix (events through MeshPublisher,
 * the poison through the plain client), then evaluate every check until all pass at once or the
 * deadline passes. The same code for the local mesh and a deployed stack: only the target differs.
 */
import { Timestamp } from '@google-cloud/firestore';
import { MeshPublisher } from '../../shared/publisher';
import type { MeshSpec } from '../../shared/spec';
import { DashboardLayout } from '../../services/dashboard/layout';
import { buildChecks, type CheckOutcome, type SmokeCheck } from './checks';
import { planSmoke, smokeWindow, SMOKE_TOPICS, type PlanOptions, type SmokePlan } from './mix';
import type { SmokeTarget } from './target';
import { UserError } from '../../shared/errors';

export interface SmokeOptions {
  spec: MeshSpec;
  target: SmokeTarget;
  /** Deadline for every check to pass, from the end of publishing. Default 120 s. */
  timeoutMs?: number;
  /** Pause between rounds of checks. Default 2 s locally, 10 s in GCP (each round queries BigQuery). */
  pollMs?: number;
  /** The mix (default: planSmoke() in a dashboard window no one has used). */
  plan?: SmokePlan;
  planOptions?: PlanOptions;
  /** Leave the run's poison in the dead-letter holds (default: taken out once found; see holds.ts). */
  keepDeadLetters?: boolean;
  /** Progress lines while waiting (which checks are pending, and what they see). */
  onProgress?: (line: string) => void;
  /** A progress line at least this often while nothing changes. Default 10 s. */
  progressEveryMs?: number;
}

export interface SmokeCheckResult extends CheckOutcome {
  id: string;
  service: string;
  title: string;
  expected: string;
  /** Seconds after publishing when it (last) started to pass; null while failing. */
  passedAfterSeconds: number | null;
}

export interface SmokeReport {
  ok: boolean;
  runId: string;
  source: string;
  target: { kind: SmokeTarget['kind']; project: string; where: SmokeTarget['where'] };
  /** The dashboard minute window the run's events are dated in (UTC). */
  window: { key: string; start: string };
  published: { messages: number; events: number; duplicates: number; poison: number; failed: number };
  /** topic -> the poison's ce-id (with --keep-dead-letters, find it with `mesh dead-letters <consumer>`). */
  poison: Record<string, string>;
  /** Wall time from the first publish to the end. */
  elapsedSeconds: number;
  timeoutSeconds: number;
  checks: SmokeCheckResult[];
  /** ids of the checks that failed. */
  failed: string[];
}

const CHECK_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0];

/** A minute no earlier run has used: its dashboard window must start empty to count exactly. */
export async function claimWindow(target: SmokeTarget, attempts = 5): Promise<{ startMs: number; key: string }> {
  const layout = new DashboardLayout(target.firestore);
  let window = smokeWindow(Date.now());
  for (let i = 0; i < attempts; i++) {
    const used = await layout.shards('minute').where('start', '==', Timestamp.fromMillis(window.startMs)).limit(1).get();
    if (used.empty) return window;
    window = smokeWindow(Date.now());
  }
  throw new UserError(`${attempts} dashboard minute windows ~36 h back were all in use; try again`);
}

/** Publishes the plan; returns how many messages Pub/Sub refused and the first error. */
export async function publishPlan(spec: MeshSpec, target: SmokeTarget, plan: SmokePlan): Promise<{ failed: number; error?: string }> {
  const publisher = new MeshPublisher({ pubsub: target.pubsub, spec, source: plan.source });
  // Issued in order without waiting: the client batches, and keeps each order's events in sequence (ordering key).
  const sends: Promise<unknown>[] = plan.events.map((e) => publisher.publish(e.topic, e.type, e.data, { id: e.id, time: e.time }));
  // The poison through the plain client, as a raw producer would send it (valid data, broken envelope).
  for (const p of plan.poison) sends.push(target.pubsub.topic(p.topic).publishMessage({ json: p.data, attributes: p.attributes }));
  const results = await Promise.allSettled(sends);
  await publisher.flush().catch(() => undefined);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return { failed: failures.length, error: failures.length ? firstLine(failures[0].reason) : undefined };
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  const { spec, target } = options;
  for (const topic of SMOKE_TOPICS) {
    if (!spec.topics[topic]) throw new UserError(`the smoke publishes to topics ${SMOKE_TOPICS.join(' and ')}; the spec has no topic "${topic}"`);
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? (target.kind === 'gcp' ? 10_000 : 2_000);
  const progress = options.onProgress ?? (() => undefined);
  const plan = options.plan ?? planSmoke({ window: await claimWindow(target), ...options.planOptions });
  const checks = buildChecks(spec, target, plan, { keepDeadLetters: options.keepDeadLetters });

  const started = Date.now();
  const duplicates = plan.events.filter((e) => e.duplicate).length;
  progress(
    `run ${plan.runId}: publishing ${plan.expected.published} messages (${plan.events.length - duplicates} events, ${duplicates} duplicates, ${plan.poison.length} poison) to ${target.where.pubsub}, dated ${plan.window.key} UTC`,
  );
  const published = await publishPlan(spec, target, plan);
  const publishRow: SmokeCheckResult = {
    id: 'publish',
    service: 'pubsub',
    title: 'messages accepted',
    expected: String(plan.expected.published),
    ok: published.failed === 0,
    seen: published.failed
      ? `${plan.expected.published - published.failed} (${published.failed} refused: ${published.error})`
      : String(plan.expected.published),
    passedAfterSeconds: published.failed ? null : 0,
  };
  const publishedAt = Date.now();
  const deadline = publishedAt + timeoutMs;
  const state = new Map<string, SmokeCheckResult>();
  const record = (check: SmokeCheck, outcome: CheckOutcome) => {
    const previous = state.get(check.id);
    const passedAfterSeconds = outcome.ok ? (previous?.passedAfterSeconds ?? round1((Date.now() - publishedAt) / 1000)) : null;
    state.set(check.id, { id: check.id, service: check.service, title: check.title, expected: check.expected, ...outcome, passedAfterSeconds });
  };

  if (!publishRow.ok) {
    for (const check of checks) record(check, { ok: false, seen: 'not checked: publishing failed' });
  } else {
    let lastPending = '';
    let lastProgressAt = publishedAt;
    for (let round = 0; ; round++) {
      await Promise.all(
        checks.map(async (check) => {
          if (check.sticky && state.get(check.id)?.ok) return;
          const outcome = await withTimeout(check.run(round), CHECK_TIMEOUT_MS).catch((error: unknown): CheckOutcome => ({
            ok: false,
            seen: `error: ${firstLine(error)}`,
          }));
          record(check, outcome);
        }),
      );
      const pending = checks.filter((c) => !state.get(c.id)!.ok);
      if (!pending.length || Date.now() >= deadline) break;
      const key = pending.map((c) => c.id).join(',');
      if (key !== lastPending || Date.now() - lastProgressAt >= (options.progressEveryMs ?? 10_000)) {
        const elapsed = Math.round((Date.now() - publishedAt) / 1000);
        progress(
          `${elapsed}s: ${checks.length + 1 - pending.length} of ${checks.length + 1} checks pass; waiting for ${pending.map((c) => `${c.service} ${c.title} (${shorten(state.get(c.id)!.seen, 50)})`).join(', ')}`,
        );
        lastPending = key;
        lastProgressAt = Date.now();
      }
      await sleep(Math.min(pollMs, deadline - Date.now()));
    }
  }

  const results = [publishRow, ...checks.map((c) => state.get(c.id)!)];
  const failed = results.filter((r) => !r.ok).map((r) => r.id);
  return {
    ok: failed.length === 0,
    runId: plan.runId,
    source: plan.source,
    target: { kind: target.kind, project: target.project, where: target.where },
    window: { key: plan.window.key, start: new Date(plan.window.startMs).toISOString() },
    published: { messages: plan.expected.published, events: plan.events.length - duplicates, duplicates, poison: plan.poison.length, failed: published.failed },
    poison: { ...plan.expected.poison },
    elapsedSeconds: round1((Date.now() - started) / 1000),
    timeoutSeconds: timeoutMs / 1000,
    checks: results,
    failed,
  };
}

/** 0 when every check passed, else 1. */
export function exitCodeOf(report: Pick<SmokeReport, 'ok'>): number {
  return report.ok ? 0 : 1;
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
