/**
 * The spec's `recovery` section (RPO per stateful stage) and the retention limits from Google's docs:
 * subscription retention 10m..31d (https://cloud.google.com/pubsub/docs/subscription-properties),
 * Firestore backups kept at most 14 weeks, BigQuery time travel 2..7 days in whole days.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIMITS, MeshSpecError } from '../../shared/spec';
import { defaultSpec, REPO_ROOT, specFromText } from '../support/specs';

const base = fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8');
const withRecovery = (yaml: string) => `${base}\nrecovery:\n${yaml}\n`;

function issuesOf(text: string): string[] {
  try {
    specFromText(text);
  } catch (error) {
    if (error instanceof MeshSpecError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('spec was accepted');
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
/** line:column (1-based) of `key` on the line holding `needle`. */
const at = (text: string, needle: string, key: string) => `${lineOf(text, needle)}:${text.split('\n')[lineOf(text, needle) - 1].indexOf(key) + 1}`;

describe('recovery section', () => {
  it('defaults without the section: PITR on, daily backups kept 14 days, 7 days of time travel', () => {
    expect(base).not.toMatch(/^recovery:/m);
    expect(defaultSpec().recovery).toEqual({
      firestore: { pointInTimeRecovery: true, backups: { every: 'daily', retentionSeconds: 14 * 86400 } },
      warehouse: { timeTravelSeconds: 7 * 86400 },
    });
  });

  it('reads weekly backups (Sunday unless told), PITR off, a shorter time travel window', () => {
    const spec = specFromText(
      withRecovery('  firestore:\n    pointInTimeRecovery: false\n    backups: { every: weekly, retention: 98d }\n  warehouse: { timeTravel: 2d }'),
    );
    expect(spec.recovery).toEqual({
      firestore: { pointInTimeRecovery: false, backups: { every: 'weekly', day: 'sunday', retentionSeconds: 98 * 86400 } },
      warehouse: { timeTravelSeconds: 2 * 86400 },
    });
    expect(specFromText(withRecovery('  firestore:\n    backups: { every: weekly, day: wednesday, retention: 30d }')).recovery.firestore.backups).toEqual({
      every: 'weekly',
      day: 'wednesday',
      retentionSeconds: 30 * 86400,
    });
  });

  it('turns backups off with every: never', () => {
    expect(specFromText(withRecovery('  firestore:\n    backups: { every: never }')).recovery.firestore).toEqual({
      pointInTimeRecovery: true,
      backups: undefined,
    });
  });

  it('refuses values GCP would refuse, each at its line', () => {
    const text = withRecovery('  firestore:\n    backups: { every: daily, day: monday, retention: 15w }\n  warehouse: { timeTravel: 36h }');
    expect(issuesOf(text)).toEqual([
      `${at(text, 'retention: 15w', 'retention')} recovery.firestore.backups.retention: must be a duration such as 30s, 10m, 7d`,
    ]);
    const limits = withRecovery('  firestore:\n    backups: { every: daily, day: monday, retention: 99d }\n  warehouse: { timeTravel: 36h }');
    expect(issuesOf(limits)).toEqual([
      `${at(limits, 'retention: 99d', 'retention')} recovery.firestore.backups.retention: must be between 1d and 98d (Firestore keeps backups at most 14 weeks)`,
      `${at(limits, 'retention: 99d', 'day')} recovery.firestore.backups.day: only weekly backups run on a given day`,
      `${at(limits, 'timeTravel', 'timeTravel')} recovery.warehouse.timeTravel: must be whole days from 2d to 7d (BigQuery time travel window)`,
    ]);
    expect(issuesOf(withRecovery('  warehouse: { timeTravel: 8d }'))[0]).toContain('recovery.warehouse.timeTravel: must be whole days from 2d to 7d');
    expect(issuesOf(withRecovery('  firestore:\n    backups: { every: hourly }'))[0]).toMatch(/recovery\.firestore\.backups\.every: /);
    expect(issuesOf(withRecovery('  bigquery: {}'))[0]).toMatch(/recovery\.bigquery: unknown key "bigquery"/);
  });
});

describe('replay retention', () => {
  it('allows up to 31 days, as Pub/Sub does', () => {
    expect(LIMITS.subscriptionRetentionSeconds).toEqual([600, 31 * 86400]);
    const long = base
      .replace(/retention: 7d +# long enough/, 'retention: 31d # long enough')
      .replace('replay: { retention: 7d }', 'replay: { retention: 31d }');
    expect(specFromText(long).consumers['processor-analytics'].replay).toEqual({ retentionSeconds: 31 * 86400 });
    const tooLong = long.replace('replay: { retention: 31d }', 'replay: { retention: 32d }');
    expect(issuesOf(tooLong)).toEqual([expect.stringContaining('consumers.processor-analytics.replay.retention: must be between 10m and 31d')]);
  });
});
