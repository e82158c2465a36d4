/**
 * Which consumers are paused in the deployed project, read when `pulumi up` (or preview) starts, so a
 * deployment never resumes a consumer silently: `mesh pause` left a paused push consumer's
 * subscriptions without their push config, and the program must leave them so (infra/consumers.ts).
 * The control documents are shared/operations/controls.ts's; this only reads them.
 *
 * Nothing to read yet is "nothing paused": on the very first deployment the `(default)` database does
 * not exist (NOT_FOUND) or the Firestore API is still disabled (PERMISSION_DENIED with reason
 * SERVICE_DISABLED). Any other failure stops the deployment, since it cannot tell what is paused,
 * unless the stack says `event-mesh:ignorePausedState: true`.
 *
 * The program stays a function of its inputs: this runs in infra/index.ts only, and offline runs
 * (tests, `mesh plan`) pass the paused list themselves.
 */
import type { Firestore } from '@google-cloud/firestore';
import * as pulumi from '@pulumi/pulumi';
import { readPaused } from '../shared/operations/controls';
import type { MeshConfig } from './config';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;

export interface ReadPausedOptions {
  /** The client to read with (tests: the emulator). Default: Firestore `(default)` of `project`, ADC. */
  firestore?: Firestore;
  /** When the state cannot be read: warn and return [] instead of failing. */
  ignorePausedState?: boolean;
  log?: Pick<typeof pulumi.log, 'info' | 'warn'>;
}

/** The deployment cannot know what is paused. A RunError: Pulumi prints the message, no stack trace. */
export class PausedStateUnknownError extends pulumi.RunError {
  constructor(
    readonly project: string,
    readonly error: unknown,
  ) {
    super(
      [
        `cannot read which consumers are paused in project ${project} (Firestore (default), consumerControls): ${describeError(error)}.`,
        'Deploying now could resume a paused push consumer without anyone deciding to. Either:',
        `  - let the deploying identity read Firestore: gcloud projects add-iam-policy-binding ${project} --member=<you> --role=roles/datastore.viewer`,
        '  - or deploy as if nothing were paused: pulumi config set event-mesh:ignorePausedState true',
      ].join('\n'),
    );
  }
}

/** Names of the consumers paused now, sorted. */
export async function readPausedForDeploy(project: string, options: ReadPausedOptions = {}): Promise<string[]> {
  const log = options.log ?? pulumi.log;
  const db = options.firestore ?? (await deployedFirestore(project));
  try {
    const paused = Object.keys(await readPaused(db)).sort();
    if (paused.length) void log.info(`paused consumers (left paused by this deployment; \`mesh resume\` resumes them): ${paused.join(', ')}`);
    return paused;
  } catch (error) {
    if (nothingDeployedYet(error)) return [];
    if (!options.ignorePausedState) throw new PausedStateUnknownError(project, error);
    void log.warn(
      `event-mesh:ignorePausedState: cannot read which consumers are paused (${describeError(error)}); deploying as if none were, which gives every push consumer its push config back`,
    );
    return [];
  } finally {
    if (!options.firestore) await db.terminate();
  }
}

/** What infra/index.ts calls: the stack's project and its ignorePausedState. */
export const pausedForDeploy = (config: MeshConfig) => readPausedForDeploy(config.project, { ignorePausedState: config.ignorePausedState });

/**
 * NOT_FOUND: no `(default)` database yet. PERMISSION_DENIED because the API is disabled: Google
 * returns ErrorInfo reason SERVICE_DISABLED, "The request is calling a disabled service for a
 * consumer" (https://github.com/googleapis/googleapis/blob/master/google/api/error_reason.proto), with
 * the message "Cloud Firestore API has not been used in project ... before or it is disabled"; the
 * client sets `reason` from the ErrorInfo when it parses it, the message is checked too in case not.
 * Any other PERMISSION_DENIED (a missing role, a disabled account) is not "nothing deployed". (An API
 * someone disabled after the mesh ran reads as nothing paused too; the program enables it again.)
 */
export function nothingDeployedYet(error: unknown): boolean {
  const e = error as { code?: unknown; reason?: unknown; message?: unknown };
  if (e?.code === NOT_FOUND) return true;
  if (e?.code !== PERMISSION_DENIED) return false;
  return e.reason === 'SERVICE_DISABLED' || /SERVICE_DISABLED|has not been used in project \S+ before or it is disabled/i.test(String(e.message ?? ''));
}

async function deployedFirestore(project: string): Promise<Firestore> {
  // The client would talk to the emulator instead of the project, and report what is paused there.
  if (process.env.FIRESTORE_EMULATOR_HOST)
    throw new pulumi.RunError(
      `FIRESTORE_EMULATOR_HOST=${process.env.FIRESTORE_EMULATOR_HOST} is set: the paused consumers would be read from the emulator, not from project ${project}; unset it to deploy`,
    );
  // Loaded here: offline runs (tests, `mesh plan`) never read, and need not load the client.
  const { Firestore } = await import('@google-cloud/firestore');
  return new Firestore({ projectId: project, databaseId: '(default)' });
}

const describeError = (error: unknown) => {
  const e = error as { code?: unknown; message?: unknown };
  const message = String(e?.message ?? error).split('\n')[0];
  return typeof e?.code === 'number' ? `gRPC ${e.code}: ${message}` : message;
};
