/**
 * spec.recovery in the program, under Pulumi's mocks (see harness.ts): Firestore point-in-time
 * recovery and backup schedule, and the BigQuery dataset's time travel window.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRepoSpecWithFreePorts } from '../support/specs';
import { Mesh, runMesh, T } from './harness';

jest.setTimeout(60_000);

const SCHEDULE = 'gcp:firestore/backupSchedule:BackupSchedule';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-recovery-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Prebuilt images: a spec outside the repository cannot be baked into built ones.
const images = Object.fromEntries(['dashboard', 'processor', 'warehouse'].map((s) => [s, `europe-docker.pkg.dev/p/r/${s}:1`]));
const meshWith = async (recovery: Record<string, unknown>) =>
  runMesh({ 'event-mesh:specFile': await writeRepoSpecWithFreePorts(dir, (doc) => (doc.recovery = recovery)), 'event-mesh:images': images });

describe('defaults (mesh.yaml has no recovery section)', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh();
  });

  it('turns on Firestore point-in-time recovery', () => {
    expect(mesh.one(T.firestore, '(default)').inputs.pointInTimeRecoveryEnablement).toBe('POINT_IN_TIME_RECOVERY_ENABLED');
  });

  it('backs the database up daily, keeping 14 days, after the database exists', () => {
    const schedules = mesh.all(SCHEDULE);
    expect(schedules.map((s) => s.inputs)).toEqual([expect.objectContaining({ database: '(default)', retention: `${14 * 86400}s`, dailyRecurrence: {} })]);
    expect(schedules[0].inputs.weeklyRecurrence).toBeUndefined();
    expect(schedules[0].dependsOn).toContain(`${T.firestore}::firestore`);
  });

  it('keeps 7 days (168 hours) of BigQuery time travel', () => {
    expect(mesh.one(T.dataset, 'warehouse').inputs.maxTimeTravelHours).toBe('168');
  });
});

describe('a spec asking for weekly backups, no PITR, 3 days of time travel', () => {
  it('creates exactly that', async () => {
    const mesh = await meshWith({
      firestore: { pointInTimeRecovery: false, backups: { every: 'weekly', day: 'monday', retention: '56d' } },
      warehouse: { timeTravel: '3d' },
    });
    expect(mesh.one(T.firestore, '(default)').inputs.pointInTimeRecoveryEnablement).toBe('POINT_IN_TIME_RECOVERY_DISABLED');
    expect(mesh.all(SCHEDULE).map((s) => s.inputs)).toEqual([expect.objectContaining({ retention: `${56 * 86400}s`, weeklyRecurrence: { day: 'MONDAY' } })]);
    expect(mesh.one(T.dataset, 'warehouse').inputs.maxTimeTravelHours).toBe('72');
  });
});

describe('backups turned off', () => {
  it('creates no schedule', async () => {
    const mesh = await meshWith({ firestore: { backups: { every: 'never' } } });
    expect(mesh.all(SCHEDULE)).toEqual([]);
    expect(mesh.one(T.firestore, '(default)').inputs.pointInTimeRecoveryEnablement).toBe('POINT_IN_TIME_RECOVERY_ENABLED');
  });
});
