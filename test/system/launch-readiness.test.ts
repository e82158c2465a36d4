/**
 * `mesh readiness` against a real local warehouse (the DuckDB BigQuery endpoint, the real client):
 * a consumer counts as replay tested once replay_audit holds a completed replay of events to it;
 * a failed replay, or a completed one that sent nothing, does not. Read with the replay audit's own
 * reader (tools/readiness/facts.ts), then through the command as users run it.
 */
(globalThis as { Bun?: unknown }).Bun ??= {}; // @google-cloud/bigquery under jest (see test/unit/bigquery-local.test.ts)
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { ReplayAudit, type ReplayRecord, type ReplayState } from '../../shared/replay';
import { replayFacts } from '../../tools/readiness/facts';
import { defaultSpec, REPO_ROOT } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const spec = defaultSpec();
const ORDERS_CONSUMERS = ['processor-orders', 'dashboard-orders', 'warehouse-orders', 'archive-orders'];
let local: LocalBigQuery;
let audit: ReplayAudit;

beforeAll(async () => {
  local = await startLocalBigQuery();
  audit = new ReplayAudit(new BigQuery({ projectId: spec.project, apiEndpoint: local.url }), spec, spec.project);
});
afterAll(async () => {
  await local.stop();
});

/** The steps a replay of `sent` events records, ending in `end`. */
async function replayed(replayId: string, consumer: string, end: ReplayState, sent: number, at = Date.parse('2026-12-01T10:00:00Z')): Promise<void> {
  const steps: [ReplayState, number][] = [
    ['requested', 0],
    ['started', 0],
    [end, sent],
  ];
  for (const [i, [state, count]] of steps.entries()) {
    const record: ReplayRecord = {
      replayId,
      recordedAt: new Date(at + i * 1000).toISOString(),
      state,
      consumer,
      topic: spec.consumers[consumer].topic,
      owner: 'commerce-oncall',
      intent: 'launch readiness: replay test',
      operator: 'ana@test',
      scope: { topic: spec.consumers[consumer].topic, from: '2026-11-30T10:00:00Z', to: '2026-11-30T11:00:00Z' },
      ceilingPerSecond: 50,
      inScope: sent,
      sent: count,
      elapsedSeconds: i,
    };
    await audit.record(record);
  }
}

async function readiness(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--spec', path.join(REPO_ROOT, 'mesh.yaml'), 'readiness', ...args], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: { ...process.env, BIGQUERY_EMULATOR_HOST: local.url },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

it('counts only a completed replay of events as tested, read from replay_audit', async () => {
  await replayed('rp-20261201100000-aaaaaa', 'processor-orders', 'completed', 40);
  await replayed('rp-20261201100000-bbbbbb', 'dashboard-orders', 'failed', 7);
  await replayed('rp-20261201100000-cccccc', 'warehouse-orders', 'completed', 0);

  const shared = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = local.url;
  try {
    const facts = await replayFacts(spec, ORDERS_CONSUMERS);
    expect(facts).toEqual({
      known: true,
      completed: {
        'processor-orders': { replayId: 'rp-20261201100000-aaaaaa', recordedAt: '2026-12-01T10:00:02.000Z', sent: 40 },
        'dashboard-orders': undefined,
        'warehouse-orders': undefined,
        'archive-orders': undefined,
      },
    });
  } finally {
    process.env.BIGQUERY_EMULATOR_HOST = shared;
  }

  const partly = await readiness('--topic', 'orders', '--strict');
  expect(partly.code).toBe(1);
  expect(partly.stdout).toMatch(/│ processor-orders\s+│ replay tested\s+│ ok\s+│ rp-20261201100000-aaaaaa completed 2026-12-01T10:00:02.000Z \(40 sent\)/);
  expect(partly.stdout).toMatch(/│ dashboard-orders\s+│ replay tested\s+│ MISSING\s+│ no completed replay with events sent in replay_audit/);
}, 120_000);

it('passes --strict once every consumer of the topic has a tested replay (and docs/schemas.md exists)', async () => {
  for (const [i, consumer] of ['dashboard-orders', 'warehouse-orders', 'archive-orders'].entries())
    await replayed(`rp-20261202100000-00000${i}`, consumer, 'completed', 5, Date.parse('2026-12-02T10:00:00Z'));
  const result = await readiness('--topic', 'orders', '--strict');
  if (fs.existsSync(path.join(REPO_ROOT, 'docs', 'schemas.md'))) {
    expect(result.stdout).toContain('ready: all');
    expect(result.code).toBe(0);
  } else {
    // Until docs/schemas.md is written, the topic's compatibility rules are the only thing missing.
    expect(result.stdout).toContain('missing (1 of 22 checks):\n- topic orders: compatibility rules documented: docs/schemas.md is missing');
    expect(result.code).toBe(1);
  }
}, 120_000);
