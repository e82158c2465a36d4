/**
 * The revision lock: `<schema dir>/revisions.lock.json` holds, for each accepted revision, the
 * sha256 of its .avsc and the day it was accepted. Committed with the schemas, it makes a released
 * revision immutable (an edit in place changes the hash and fails `mesh schema check`), and its days
 * are the clock of the deprecation window. `mesh schema accept` writes entries; nothing else does.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopicSpec } from '../spec/types';
import type { GovernanceIssue } from './issues';

export const LOCK_FILE = 'revisions.lock.json';

export interface LockEntry {
  sha256: string;
  /** YYYY-MM-DD (UTC). */
  accepted: string;
}

export type RevisionLock = Record<string, LockEntry>;

export function lockPath(topic: Pick<TopicSpec, 'schema'>): string {
  return path.join(topic.schema.dir, LOCK_FILE);
}

export function readLock(topic: Pick<TopicSpec, 'name' | 'schema'>): RevisionLock {
  const file = lockPath(topic);
  if (!fs.existsSync(file)) return {};
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as RevisionLock;
  for (const [revision, entry] of Object.entries(parsed)) {
    if (typeof entry?.sha256 !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(String(entry?.accepted)))
      throw new Error(`${file}: entry ${revision} must be {"sha256": "...", "accepted": "YYYY-MM-DD"}`);
  }
  return parsed;
}

export function writeLock(topic: Pick<TopicSpec, 'schema'>, lock: RevisionLock): void {
  const ordered = Object.fromEntries(Object.entries(lock).sort(([a], [b]) => revisionNumber(a) - revisionNumber(b)));
  fs.writeFileSync(lockPath(topic), `${JSON.stringify(ordered, null, 2)}\n`);
}

/** The hash of a revision's text; line endings normalised so a checkout with CRLF hashes the same. */
export function revisionHash(definition: string): string {
  return createHash('sha256').update(definition.replace(/\r\n/g, '\n')).digest('hex');
}

/** v12 -> 12: revisions compare by number, not as text. */
export function revisionNumber(name: string): number {
  return Number(name.replace(/^v/, ''));
}

/** Every listed revision locked with its current hash; no locked revision dropped from the list. */
export function lockIssues(
  topic: Pick<TopicSpec, 'name' | 'schema'>,
  definitions: { name: string; definition: string }[],
  lock: RevisionLock,
): GovernanceIssue[] {
  const issues: GovernanceIssue[] = [];
  const file = path.relative(process.cwd(), lockPath(topic)) || LOCK_FILE;
  for (const { name, definition } of definitions) {
    const entry = lock[name];
    const hash = revisionHash(definition);
    if (!entry) {
      issues.push({
        rule: 'revision-lock',
        topic: topic.name,
        revision: name,
        message: `is not accepted yet (no entry in ${file}): run \`mesh schema accept ${topic.name} ${name}\` once the other gates pass`,
      });
    } else if (entry.sha256 !== hash) {
      issues.push({
        rule: 'revision-lock',
        topic: topic.name,
        revision: name,
        message: `was edited after it was accepted on ${entry.accepted} (sha256 ${entry.sha256.slice(0, 12)} in ${file}, ${hash.slice(0, 12)} now): a released revision cannot change; restore it and add a new revision instead`,
      });
    }
  }
  const listed = new Set(definitions.map((d) => d.name));
  for (const name of Object.keys(lock)) {
    if (!listed.has(name))
      issues.push({
        rule: 'revision-lock',
        topic: topic.name,
        revision: name,
        message: `was accepted (${file}) but is no longer listed in schema.revisions: revisions stay listed; \`mesh schema retire\` moves accept.first instead`,
      });
  }
  return issues;
}
