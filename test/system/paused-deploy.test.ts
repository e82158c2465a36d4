/**
 * What `pulumi up` reads as paused (infra/paused.ts), against the real Firestore emulator: the
 * consumers whose control (shared/operations/controls.ts) says paused now, whatever their delivery,
 * and not those paused once and resumed since. What the program does with them is test/infra/paused.test.ts.
 */
import type { Firestore } from '@google-cloud/firestore';
import { readPausedForDeploy } from '../../infra/paused';
import { writeControl, type ConsumerControl } from '../../shared/operations/controls';
import { testFirestore, uniqueProject } from '../support/emulators';

const control = (consumer: string, paused: boolean): ConsumerControl => ({
  consumer,
  paused,
  since: new Date().toISOString(),
  owner: 'team-a',
  intent: paused ? 'downstream maintenance' : 'maintenance over',
  operator: 'tester',
  operationId: `op-${consumer}-${paused}`,
});

describe('readPausedForDeploy on the Firestore emulator', () => {
  let db: Firestore;
  let project: string;
  beforeEach(() => {
    project = uniqueProject('paused-deploy');
    db = testFirestore(project);
  });
  afterEach(async () => {
    await db.terminate();
  });

  it('reads nothing paused from a project without controls', async () => {
    const log = { info: jest.fn(), warn: jest.fn() };
    await expect(readPausedForDeploy(project, { firestore: db, log })).resolves.toEqual([]);
    expect(log.info).not.toHaveBeenCalled();
  });

  it('reads the consumers paused now, sorted, says so, and leaves the injected client open', async () => {
    const pushConfigs = { 'dashboard-orders': { pushEndpoint: 'https://dashboard.example/pubsub/push/dashboard-orders' } };
    await writeControl(db, { ...control('dashboard-orders', true), pushConfigs });
    await writeControl(db, control('warehouse-orders', true));
    await writeControl(db, control('processor-analytics', false)); // paused once, resumed since
    const log = { info: jest.fn(), warn: jest.fn() };

    expect(await readPausedForDeploy(project, { firestore: db, log })).toEqual(['dashboard-orders', 'warehouse-orders']);
    expect(log.info).toHaveBeenCalledWith(expect.stringContaining('dashboard-orders, warehouse-orders'));
    expect(log.warn).not.toHaveBeenCalled();
    // Still usable: the caller owns the client.
    expect((await db.doc('consumerControls/dashboard-orders').get()).exists).toBe(true);
  });

  it('follows a resume: a consumer resumed since the last deployment is no longer paused', async () => {
    await writeControl(db, control('dashboard-orders', true));
    expect(await readPausedForDeploy(project, { firestore: db, log: { info: jest.fn(), warn: jest.fn() } })).toEqual(['dashboard-orders']);
    await writeControl(db, control('dashboard-orders', false));
    expect(await readPausedForDeploy(project, { firestore: db, log: { info: jest.fn(), warn: jest.fn() } })).toEqual([]);
  });
});
