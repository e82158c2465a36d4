/**
 * What every service's index.ts reads from the environment.
 *
 *   MESH_SPEC                  spec file (default: the repository's mesh.yaml)
 *   GOOGLE_CLOUD_PROJECT       project (default on the emulators: spec.project)
 *   PUBSUB_EMULATOR_HOST       use the Pub/Sub emulator at host:port
 *   FIRESTORE_EMULATOR_HOST    use the Firestore emulator at host:port
 *   PORT                       HTTP port (default spec.services.<name>.localPort)
 *   MESH_VERIFY_PUSH_AUTH      "false" turns push OIDC verification off (emulator only)
 *   MESH_PUSH_AUDIENCE         expected token audience(s), comma-separated (infra sets the service URL)
 *   MESH_PUSH_SERVICE_ACCOUNT  expected token email: the push service account
 *   MESH_PUSH_TOKEN_CHECK      "claims" or "signature": how a push token is checked (auth.ts). Default
 *                              "claims" on Cloud Run (K_SERVICE is set: Cloud Run sets it in every
 *                              container, https://cloud.google.com/run/docs/container-contract), whose
 *                              IAM checks the token and removes its signature before we see it;
 *                              "signature" anywhere else
 *   MESH_PULL_TRANSPORT        "streaming" or "unary" (default: unary on the Pub/Sub emulator, whose
 *                              StreamingPull ignores flow control; streaming otherwise)
 *   BIGQUERY_EMULATOR_HOST     use the local BigQuery endpoint at this URL (the warehouse; the audit of a canary's automatic abort)
 *   MESH_CANARY_OF             run as the canary of this consumer (shared/canary/runtime.ts): pull its canary subscription only
 *   MESH_CANARIES              "on" or "off": follow the consumers' canaries (default on the emulators; infra turns it on where it deploys one)
 *   LOG_LEVEL                  pino level (default info)
 */
import type * as BigQueryModule from '@google-cloud/bigquery';
import type { BigQuery } from '@google-cloud/bigquery';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { emulatorFirestore } from '../emulators/firestore';
import { emulatorPubSub } from '../emulators/pubsub';
import type { MeshSpec } from '../spec/types';
import type { PushAuthOptions, PushTokenCheck } from './auth';
import { ConsumerConfigError } from './errors';
import type { PullTransport } from './pull';

type Env = Record<string, string | undefined>;

const OFF = new Set(['false', '0', 'off', 'no']);

/** Push auth from env: options, `false` (explicitly off), or undefined (nothing said: the service refuses to start if it has push consumers). */
export function pushAuthFromEnv(env: Env = process.env): PushAuthOptions | false | undefined {
  const flag = env.MESH_VERIFY_PUSH_AUTH?.trim().toLowerCase();
  if (flag && OFF.has(flag)) return false;
  const audience =
    env.MESH_PUSH_AUDIENCE?.split(',')
      .map((a) => a.trim())
      .filter(Boolean) ?? [];
  const serviceAccountEmail = env.MESH_PUSH_SERVICE_ACCOUNT?.trim();
  const tokenCheck = pushTokenCheckFromEnv(env);
  if (audience.length && serviceAccountEmail) return { audience: audience.length === 1 ? audience[0] : audience, serviceAccountEmail, tokenCheck };
  if (audience.length || serviceAccountEmail || flag) {
    throw new ConsumerConfigError(
      'push authentication needs both MESH_PUSH_AUDIENCE and MESH_PUSH_SERVICE_ACCOUNT (or MESH_VERIFY_PUSH_AUTH=false on the emulator)',
    );
  }
  return undefined;
}

/** How push tokens are checked (MESH_PUSH_TOKEN_CHECK); default 'claims' on Cloud Run (K_SERVICE set), else 'signature'. */
export function pushTokenCheckFromEnv(env: Env = process.env): PushTokenCheck {
  const value = env.MESH_PUSH_TOKEN_CHECK?.trim().toLowerCase();
  if (!value) return env.K_SERVICE ? 'claims' : 'signature';
  if (value === 'claims' || value === 'signature') return value;
  throw new ConsumerConfigError(`MESH_PUSH_TOKEN_CHECK must be "claims" or "signature" (got "${env.MESH_PUSH_TOKEN_CHECK}")`);
}

/** How pull consumers pull (MESH_PULL_TRANSPORT); default unary on the Pub/Sub emulator, streaming in GCP. */
export function pullTransportFromEnv(env: Env = process.env): PullTransport {
  const value = env.MESH_PULL_TRANSPORT?.trim().toLowerCase();
  if (!value) return env.PUBSUB_EMULATOR_HOST ? 'unary' : 'streaming';
  if (value === 'streaming' || value === 'unary') return value;
  throw new ConsumerConfigError(`MESH_PULL_TRANSPORT must be "streaming" or "unary" (got "${env.MESH_PULL_TRANSPORT}")`);
}

export function projectFromEnv(spec: MeshSpec, env: Env = process.env): string {
  const project = env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? (env.PUBSUB_EMULATOR_HOST || env.FIRESTORE_EMULATOR_HOST ? spec.project : undefined);
  if (!project) throw new ConsumerConfigError('GOOGLE_CLOUD_PROJECT is not set');
  return project;
}

/** The emulator when PUBSUB_EMULATOR_HOST is set, else Pub/Sub with application default credentials. */
export function pubsubFromEnv(projectId: string, env: Env = process.env): PubSub {
  if (env.PUBSUB_EMULATOR_HOST) return emulatorPubSub(env.PUBSUB_EMULATOR_HOST, projectId);
  return new PubSub({ projectId });
}

/** The emulator when FIRESTORE_EMULATOR_HOST is set, else Firestore with application default credentials. */
export function firestoreFromEnv(projectId: string, env: Env = process.env): Firestore {
  if (env.FIRESTORE_EMULATOR_HOST) return emulatorFirestore(env.FIRESTORE_EMULATOR_HOST, projectId);
  return new Firestore({ projectId });
}

export function portFromEnv(spec: MeshSpec, service: string, env: Env = process.env): number {
  if (env.PORT) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConsumerConfigError(`PORT "${env.PORT}" is not a port number`);
    return port;
  }
  return spec.services[service].localPort;
}

/**
 * The address a service listens on: MESH_LISTEN_HOST when set; on Cloud Run (K_SERVICE) every
 * interface, as Cloud Run requires; elsewhere 127.0.0.1 only, since locally push authentication is
 * off and nothing but this machine should reach the push paths.
 */
export function hostFromEnv(env: Env = process.env): string | undefined {
  const host = env.MESH_LISTEN_HOST?.trim();
  if (host) return host;
  return env.K_SERVICE ? undefined : '127.0.0.1';
}

/** Off the emulators, true on them: keeps google-auth-library from probing for a metadata server. */
export function usingEmulators(env: Env = process.env): boolean {
  return Boolean(env.PUBSUB_EMULATOR_HOST || env.FIRESTORE_EMULATOR_HOST || env.BIGQUERY_EMULATOR_HOST?.trim());
}

/** The local endpoint when BIGQUERY_EMULATOR_HOST is set, else BigQuery with application default credentials. */
export function bigqueryFromEnv(projectId: string, location: string, env: Env = process.env): BigQuery {
  // Required here: every service loads this file, and only the warehouse and a canary's abort audit
  // need the client (its modules are about 14 MiB of RSS).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BigQuery } = require('@google-cloud/bigquery') as typeof BigQueryModule;
  const host = env.BIGQUERY_EMULATOR_HOST?.trim();
  if (host) return new BigQuery({ projectId, location, apiEndpoint: /^https?:\/\//.test(host) ? host : `http://${host}` });
  return new BigQuery({ projectId, location });
}
