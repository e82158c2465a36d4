/**
 * Paused consumers at deploy time (infra/paused.ts, infra/consumers.ts), under Pulumi's mocks: a
 * paused push consumer's subscriptions stay without push config and nothing else changes; paused
 * names of pull, BigQuery or unknown consumers change nothing. How the paused state is read (error
 * handling here, with fake clients; the real read against the emulator in
 * test/system/paused-deploy.test.ts).
 */
import type { Firestore } from '@google-cloud/firestore';
import { nothingDeployedYet, PausedStateUnknownError, readPausedForDeploy } from '../../infra/paused';
import { Mesh, PROJECT, runMesh, schemaGuideViolations, T } from './harness';

jest.setTimeout(60_000);

// Prebuilt images: built ones are tagged by a hash of shared/ and services/, which may change between
// two runs while someone edits them, and would make the runs differ for a reason unrelated to pausing.
const IMAGES = Object.fromEntries(['dashboard', 'processor', 'warehouse', 'mesh-parity'].map((s) => [s, `europe-docker.pkg.dev/p/r/${s}:1`]));
const CONFIG = { 'event-mesh:images': IMAGES };

let baseline: Mesh;
beforeAll(async () => {
  baseline = await runMesh(CONFIG);
});

/** Every resource as comparable text (type, name, inputs and dependencies), in a stable order: registration order is not. */
const snapshot = (mesh: Mesh, edit: (r: Mesh['resources'][number]) => Record<string, unknown> = (r) => r.inputs) =>
  mesh.resources.map((r) => JSON.stringify({ key: Mesh.key(r), inputs: edit(r), dependsOn: r.dependsOn, parent: r.parent })).sort();

/** Runs with these paused consumers, collecting the program's warnings (pulumi.log.warn prints them under mocks). */
async function runPaused(paused: string[]): Promise<{ mesh: Mesh; warnings: string[] }> {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const mesh = await runMesh(CONFIG, { paused });
    return { mesh, warnings: warn.mock.calls.map((call) => String(call[0])).filter((m) => m.includes('paused')) };
  } finally {
    warn.mockRestore();
  }
}

describe('a paused push consumer', () => {
  let mesh: Mesh;
  let warnings: string[];
  beforeAll(async () => {
    ({ mesh, warnings } = await runPaused(['dashboard-analytics']));
  });

  it('keeps its subscription and its redrive subscription without push config, as `mesh pause` left them', () => {
    for (const name of ['dashboard-analytics', 'dashboard-analytics-redrive']) {
      const sub = mesh.one(T.subscription, name).inputs;
      expect(sub.pushConfig).toBeUndefined();
      // Still the consumer's subscription: same topic, dead-letter policy and ack deadline.
      expect(sub).toMatchObject({ ackDeadlineSeconds: 30, deadLetterPolicy: { maxDeliveryAttempts: 5 } });
    }
    expect(warnings).toEqual([]);
  });

  it('leaves the unpaused push consumers their push config', () => {
    for (const name of ['dashboard-orders', 'dashboard-orders-redrive', 'processor-analytics', 'processor-analytics-redrive'])
      expect(mesh.one(T.subscription, name).inputs.pushConfig).toEqual(baseline.one(T.subscription, name).inputs.pushConfig);
    expect(mesh.one(T.subscription, 'dashboard-orders').inputs.pushConfig.pushEndpoint).toMatch(/^https:\/\/dashboard-/);
  });

  it('changes nothing else: every other resource and input, and every dependency, are the same', () => {
    const withoutPush = (r: Mesh['resources'][number]) => {
      if (r.type !== T.subscription || !String(r.inputs.name).startsWith('dashboard-analytics')) return r.inputs;
      const { pushConfig: _pushConfig, ...rest } = r.inputs;
      return rest;
    };
    expect(snapshot(mesh)).toEqual(snapshot(baseline, withoutPush));
  });

  it('passes every policy of the policy pack', async () => {
    // The repository's stack keeps deletion protection on, so the data-store rule passes as well.
    expect(await mesh.policyViolations()).toEqual(schemaGuideViolations());
  });
});

describe('paused names that are not push consumers', () => {
  it('change nothing: a pull consumer (its service reads the control), a BigQuery one (cannot be paused), an unknown one', async () => {
    const { mesh, warnings } = await runPaused(['warehouse-orders', 'archive-orders', 'gone-consumer']);
    expect(snapshot(mesh)).toEqual(snapshot(baseline));
    // Warned about, except the pull consumer, which is paused the way it should be.
    expect(warnings).toEqual([
      expect.stringContaining('consumer archive-orders is marked paused but is a BigQuery subscription, which cannot be paused'),
      expect.stringContaining('consumer gone-consumer is marked paused in the project but is not in the spec'),
    ]);
  });
});

describe('the entry point under `pulumi up`', () => {
  it('reads the paused state (here refused: the emulator is set) before creating anything', async () => {
    jest.resetModules();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
    (globalThis as { globalStore?: unknown }).globalStore = undefined;
    const created: string[] = [];
    await pulumi.runtime.setMocks(
      { newResource: (args) => (created.push(args.name), { id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
      'event-mesh',
      'dev',
    );
    pulumi.runtime.setAllConfig({ 'gcp:project': PROJECT });
    const saved = process.env.FIRESTORE_EMULATOR_HOST;
    process.env.FIRESTORE_EMULATOR_HOST = '127.0.0.1:1';
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const entry = require('../../infra/index') as () => Promise<unknown>;
      await expect(entry()).rejects.toThrow(`the paused consumers would be read from the emulator, not from project ${PROJECT}`);
    } finally {
      if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = saved;
      await pulumi.runtime.disconnect();
    }
    expect(created).toEqual([]);
  });
});

describe('readPausedForDeploy when Firestore cannot answer', () => {
  /** A client whose query fails with `error`; readPaused queries consumerControls where paused == true. */
  const failing = (error: object) => {
    const terminate = jest.fn();
    const db = { collection: () => ({ where: () => ({ get: () => Promise.reject(Object.assign(new Error(), error)) }) }), terminate };
    return { db: db as unknown as Firestore, terminate };
  };
  const log = () => ({ info: jest.fn(), warn: jest.fn() });

  it.each([
    ['no (default) database yet (NOT_FOUND)', { code: 5, message: '5 NOT_FOUND: The database (default) does not exist for project mesh-test' }],
    ['the Firestore API not enabled yet (reason SERVICE_DISABLED)', { code: 7, reason: 'SERVICE_DISABLED', message: '7 PERMISSION_DENIED: denied' }],
    [
      'the Firestore API not enabled yet (said in the message only)',
      { code: 7, message: '7 PERMISSION_DENIED: Cloud Firestore API has not been used in project 123 before or it is disabled. Enable it ...' },
    ],
  ])('reads nothing paused when there is %s, and leaves an injected client open', async (_, error) => {
    const { db, terminate } = failing(error);
    await expect(readPausedForDeploy(PROJECT, { firestore: db, log: log() })).resolves.toEqual([]);
    expect(terminate).not.toHaveBeenCalled();
  });

  it.each([
    ['a missing role', { code: 7, message: '7 PERMISSION_DENIED: Missing or insufficient permissions.' }],
    ['a disabled account', { code: 7, message: '7 PERMISSION_DENIED: Service account is disabled' }],
    ['Firestore unavailable', { code: 14, message: '14 UNAVAILABLE: No connection established' }],
    ['no credentials', { message: 'Could not load the default credentials.' }],
  ])('fails the deployment on %s, saying how to fix it', async (_, error) => {
    const attempt = readPausedForDeploy(PROJECT, { firestore: failing(error).db, log: log() });
    await expect(attempt).rejects.toBeInstanceOf(PausedStateUnknownError);
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).toContain(`cannot read which consumers are paused in project ${PROJECT}`);
    expect(message).toContain(error.message);
    expect(message).toContain('--role=roles/datastore.viewer');
    expect(message).toContain('pulumi config set event-mesh:ignorePausedState true');
  });

  it('with ignorePausedState, warns and deploys as if nothing were paused', async () => {
    const logged = log();
    const paused = await readPausedForDeploy(PROJECT, { firestore: failing({ code: 7, message: 'denied' }).db, ignorePausedState: true, log: logged });
    expect(paused).toEqual([]);
    expect(logged.warn).toHaveBeenCalledWith(expect.stringContaining('deploying as if none were'));
  });

  it('tells a disabled API from other refusals', () => {
    expect(nothingDeployedYet({ code: 7, reason: 'IAM_PERMISSION_DENIED', message: 'denied' })).toBe(false);
    expect(nothingDeployedYet({ code: 9, message: 'SERVICE_DISABLED' })).toBe(false);
    expect(nothingDeployedYet(undefined)).toBe(false);
  });
});
