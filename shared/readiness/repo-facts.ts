/**
 * The launch checklist's facts that live in the repository: whether the spec document writes each
 * topic's compatibility mode itself, whether docs/schemas.md exists, and which runbooks exist. Read
 * by `mesh readiness` (tools/readiness, which also compares the runbooks with the spec) and by the
 * Pulumi program (infra/launch-readiness.ts), which runs in the repository too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { RUNBOOK_KINDS, runbookPath, type RunbookKind } from '../operations/runbooks';
import type { MeshSpec } from '../spec/types';
import type { ReadinessFacts, RunbookState } from './checklist';

/** Where the compatibility modes and the deprecation window are explained (the policy, its gates and the rollout order). */
export const SCHEMA_GUIDE = 'docs/schemas.md';

/**
 * Topics whose document writes `compatibility`. The loaded spec cannot tell (the loader fills
 * in FULL_TRANSITIVE), so the file is read again, with merge keys as the loader reads them.
 */
export function compatibilityStated(spec: Pick<MeshSpec, 'file' | 'topics'>): Record<string, boolean> {
  let document: { topics?: Record<string, { compatibility?: unknown } | null> } = {};
  try {
    document = (parse(fs.readFileSync(spec.file, 'utf8'), { merge: true }) ?? {}) as typeof document;
  } catch {
    // A spec built in memory (tests) or gone since it was loaded: nothing is stated.
  }
  return Object.fromEntries(Object.keys(spec.topics).map((name) => [name, document.topics?.[name]?.compatibility !== undefined]));
}

/** Which runbooks exist under `root`, none compared with the spec (`present`). */
export function runbooksPresent(root: string): Partial<Record<RunbookKind, RunbookState>> {
  return Object.fromEntries(RUNBOOK_KINDS.filter((kind) => fs.existsSync(path.join(root, runbookPath(kind)))).map((kind) => [kind, 'present' as const]));
}

/** Everything but the replay audit, from the repository at `root`. */
export function repoFacts(spec: Pick<MeshSpec, 'file' | 'topics'>, root: string): Omit<ReadinessFacts, 'replays'> {
  return {
    compatibilityStated: compatibilityStated(spec),
    schemaGuide: fs.existsSync(path.join(root, SCHEMA_GUIDE)),
    runbooks: runbooksPresent(root),
  };
}
