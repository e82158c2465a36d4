/**
 * Where the smoke runs: the only part that differs between the local mesh and a deployed stack. Both
 * give the same three real clients (Pub/Sub, Firestore, BigQuery); the checks never ask which.
 *
 * - local: the emulators and the local BigQuery endpoint of `npm start`, found the way `status`,
 *   `query` and `dead-letters` find them (PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST /
 *   BIGQUERY_EMULATOR_HOST, else the spec's local ports);
 * - gcp: the operator's application default credentials, project from --project, else
 *   GOOGLE_CLOUD_PROJECT, else gcp:project in Pulumi.<stack>.yaml.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { GoogleAuth } from 'google-auth-library';
import { parse } from 'yaml';
import { localBigQueryUrl } from '../../shared/bigquery-local/address';
import { emulatorPubSub, firestoreAtHost } from '../../shared/emulators';
import { assertEmulatorUp, localFirestoreHost, localPubsubHost } from '../../shared/local/connect';
import type { MeshSpec } from '../../shared/spec';
import { UserError } from '../../shared/errors';

export interface SmokeTarget {
  kind: 'local' | 'gcp';
  project: string;
  /** Human-readable: where each client points. */
  where: Record<'pubsub' | 'firestore' | 'bigquery', string>;
  pubsub: PubSub;
  firestore: Firestore;
  bigquery: BigQuery;
  close(): Promise<void>;
}

export interface LocalEndpointOverrides {
  pubsubHost?: string;
  firestoreHost?: string;
  bigqueryUrl?: string;
}

/** The local mesh (`npm start`): fails in seconds, saying what to start, when something is not up. */
export async function localTarget(spec: MeshSpec, overrides: LocalEndpointOverrides = {}): Promise<SmokeTarget> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const pubsubHost = overrides.pubsubHost ?? localPubsubHost(spec);
  const firestoreHost = overrides.firestoreHost ?? localFirestoreHost(spec);
  const bigqueryUrl = overrides.bigqueryUrl ?? localBigQueryUrl(spec);
  await assertEmulatorUp(pubsubHost, 'Pub/Sub');
  await assertEmulatorUp(firestoreHost, 'Firestore');
  try {
    await fetch(bigqueryUrl, { signal: AbortSignal.timeout(3000) });
  } catch {
    throw new UserError(`no local BigQuery endpoint answers at ${bigqueryUrl}; start the local mesh with \`npm start\` (or use --gcp)`);
  }
  const pubsub = emulatorPubSub(pubsubHost, spec.project);
  const firestore = firestoreAtHost(firestoreHost, spec.project);
  const bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: bigqueryUrl });
  return {
    kind: 'local',
    project: spec.project,
    where: { pubsub: `emulator ${pubsubHost}`, firestore: `emulator ${firestoreHost}`, bigquery: bigqueryUrl },
    pubsub,
    firestore,
    bigquery,
    close: () => closeClients(pubsub, firestore),
  };
}

/** gcp:project from Pulumi.<stack>.yaml, if the file names one. */
export function stackProject(stack: string, root = process.cwd()): string | undefined {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) return undefined;
  const document = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  const project = document.config?.['gcp:project'];
  return typeof project === 'string' && project ? project : undefined;
}

/** A deployed stack, with the operator's application default credentials. */
export async function gcpTarget(spec: MeshSpec, options: { project?: string; stack?: string } = {}): Promise<SmokeTarget> {
  // The emulator variables would send the real clients to the local mesh.
  delete process.env.PUBSUB_EMULATOR_HOST;
  delete process.env.FIRESTORE_EMULATOR_HOST;
  delete process.env.BIGQUERY_EMULATOR_HOST;
  const stack = options.stack ?? 'dev';
  const project = options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? stackProject(stack);
  if (!project) throw new UserError(`which GCP project? pass --project, set GOOGLE_CLOUD_PROJECT, or set gcp:project in Pulumi.${stack}.yaml`);
  // Without credentials the Google clients reject promises nobody awaits (the process dies with a
  // stack trace): find out first, and say what to do.
  try {
    await new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getAccessToken();
  } catch (error) {
    throw new UserError(
      `no usable application default credentials (run \`gcloud auth application-default login\`): ${String((error as Error).message).split('\n')[0]}`,
    );
  }
  const pubsub = new PubSub({ projectId: project });
  const firestore = new Firestore({ projectId: project });
  const bigquery = new BigQuery({ projectId: project, location: spec.warehouse.location });
  return {
    kind: 'gcp',
    project,
    where: {
      pubsub: `Pub/Sub project ${project}`,
      firestore: `Firestore ${project} (default)`,
      bigquery: `BigQuery ${project}.${spec.warehouse.dataset} (${spec.warehouse.location})`,
    },
    pubsub,
    firestore,
    bigquery,
    close: () => closeClients(pubsub, firestore),
  };
}

async function closeClients(pubsub: PubSub, firestore: Firestore): Promise<void> {
  await Promise.allSettled([pubsub.close(), firestore.terminate()]);
}
