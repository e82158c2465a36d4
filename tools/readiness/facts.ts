/**
 * The launch checklist's facts that need more than the repository: the runbooks compared with a fresh
 * render from the spec (the renderer lives in tools/), and the replays each consumer has completed,
 * read with the replay audit's own reader from the local warehouse or, with --gcp, the deployed one.
 * A warehouse that does not answer gives "unknown" with the reason, never a silent pass or fail.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { localBigQueryUrl } from '../../shared/bigquery-local/address';
import { RUNBOOK_KINDS, runbookPath, type RunbookKind } from '../../shared/operations/runbooks';
import { repoFacts, type ReadinessFacts, type ReplayEvidence, type ReplayFacts, type RunbookState } from '../../shared/readiness';
import { ReplayAudit } from '../../shared/replay';
import type { MeshSpec } from '../../shared/spec';
import { renderRunbook } from '../runbooks/render';
import { gcpTarget } from '../smoke/target';

export interface WarehouseOptions {
  gcp?: boolean;
  project?: string;
  stack?: string;
}

/** Per runbook kind: `current` when the file is what `mesh runbooks` would write for this spec, else `stale`; absent when missing. */
export function runbookStates(spec: MeshSpec, root: string): Partial<Record<RunbookKind, RunbookState>> {
  const states: Partial<Record<RunbookKind, RunbookState>> = {};
  for (const kind of RUNBOOK_KINDS) {
    const file = path.join(root, runbookPath(kind));
    if (fs.existsSync(file)) states[kind] = fs.readFileSync(file, 'utf8') === renderRunbook(spec, kind) ? 'current' : 'stale';
  }
  return states;
}

/** Replays per consumer read at most: the newest step of each, newest first (a consumer replayed more often than this has a recent one). */
const REPLAYS_READ = 200;

/** The newest completed replay with events sent, per consumer. */
async function completedReplays(bigquery: BigQuery, spec: MeshSpec, project: string, consumers: string[]): Promise<Record<string, ReplayEvidence | undefined>> {
  const audit = new ReplayAudit(bigquery, spec, project);
  const entries = await Promise.all(
    consumers.map(async (consumer) => {
      const done = (await audit.latest(REPLAYS_READ, consumer)).find((r) => r.state === 'completed' && r.sent > 0);
      return [consumer, done && { replayId: done.replayId, recordedAt: done.recordedAt, sent: done.sent }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

/** The replay audit of `consumers`, from the local warehouse (the BigQuery endpoint of `npm start`) or the deployed one. */
export async function replayFacts(spec: MeshSpec, consumers: string[], options: WarehouseOptions = {}): Promise<ReplayFacts> {
  if (options.gcp) {
    try {
      const target = await gcpTarget(spec, { project: options.project, stack: options.stack });
      try {
        return { known: true, completed: await completedReplays(target.bigquery, spec, target.project, consumers) };
      } finally {
        await target.close();
      }
    } catch (error) {
      return { known: false, reason: `warehouse not reachable: ${reason(error)}` };
    }
  }
  // Only the warehouse is needed: the emulators may be down while the local BigQuery endpoint is up.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const url = localBigQueryUrl(spec);
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch {
    return {
      known: false,
      reason: `warehouse not reachable: no local BigQuery endpoint answers at ${url} (start the local mesh with npm start, or use --gcp)`,
    };
  }
  try {
    return { known: true, completed: await completedReplays(new BigQuery({ projectId: spec.project, apiEndpoint: url }), spec, spec.project, consumers) };
  } catch (error) {
    return { known: false, reason: `warehouse not reachable: ${reason(error)}` };
  }
}

/** Every fact of the checklist for these consumers: the repository at `root`, the runbooks against the spec, the replay audit. */
export async function gatherFacts(spec: MeshSpec, root: string, consumers: string[], options: WarehouseOptions = {}): Promise<ReadinessFacts> {
  return { ...repoFacts(spec, root), runbooks: runbookStates(spec, root), replays: await replayFacts(spec, consumers, options) };
}
