/**
 * Forged push tokens against a consumer service that checks them. Locally the services run with push
 * authentication off (nothing signs the emulator's pushes), so this phase builds the processor as
 * Cloud Run runs it (shared/consumer/auth.ts, both checks: Google's signature, and claims only as
 * behind Cloud Run IAM) on the same emulators, serves it over HTTP on a free port, and posts valid
 * deliveries under forged tokens. "Google's certs" are a key made here: the only stand-in, since
 * Google's certificate endpoint cannot be reached.
 *
 * Every forgery must be answered 401 or 403 and change nothing (no effect, nothing dead-lettered);
 * the same delivery under a well-formed token must be applied, so the phase can tell a check that
 * refuses everything from one that works.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { OAuth2Client } from 'google-auth-library';
import { createLogger, type PushTokenCheck } from '../../shared/consumer';
import { pushPath } from '../../shared/spec/names';
import type { ConsumerSpec, MeshSpec } from '../../shared/spec';
import { createProcessorApp } from '../../services/processor/app';
import { FirestoreSinks } from '../parity/sinks';
import type { ValidPayload } from './fuzz';

const AUDIENCE = 'https://processor.faults.example';
const PUSH_SA = 'push@faults.iam.gserviceaccount.com';
const KID = 'faults-key';

export interface TokenOutcome {
  kind: string;
  check: PushTokenCheck;
  status: number;
  /** A forgery, or the well-formed control. */
  forged: boolean;
}

export interface TokenPhaseResult {
  outcomes: TokenOutcome[];
  /** Forgeries answered other than 401/403. */
  accepted: TokenOutcome[];
  /** Forged deliveries whose event was applied or dead-lettered anyway. */
  leaked: string[];
  /** The well-formed token's delivery was applied (per check). */
  controlApplied: boolean;
}

const b64url = (value: object | Buffer | string) =>
  (Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))).toString('base64url');

interface Forgery {
  kind: string;
  token: (claims: Record<string, unknown>) => string | undefined;
  /** Send in X-Serverless-Authorization (Cloud Run's header) instead of Authorization. */
  serverless?: boolean;
  /** Only for this check ('claims' cannot see a signature, by design: Cloud Run checked it). */
  only?: PushTokenCheck;
}

export async function runTokenPhase(options: {
  spec: MeshSpec;
  pubsub: PubSub;
  firestore: Firestore;
  consumer: ConsumerSpec;
  payload: () => ValidPayload;
  newId: () => string;
}): Promise<TokenPhaseResult> {
  const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    sub: '1',
    email: PUSH_SA,
    email_verified: true,
    iat: now(),
    exp: now() + 3600,
    ...extra,
  });
  const rs256 = (c: object, key: crypto.KeyObject = keys.privateKey, kid = KID) => {
    const head = `${b64url({ alg: 'RS256', typ: 'JWT', kid })}.${b64url(c)}`;
    return `${head}.${b64url(crypto.sign('RSA-SHA256', Buffer.from(head), key))}`;
  };
  const forgeries: Forgery[] = [
    { kind: 'no token', token: () => undefined },
    { kind: 'empty bearer', token: () => '' },
    { kind: 'garbage', token: () => crypto.randomBytes(40).toString('base64') },
    { kind: 'two parts', token: (c) => `${b64url({ alg: 'RS256' })}.${b64url(c)}` },
    { kind: 'alg none', token: (c) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(c)}.`, only: 'signature' },
    {
      kind: 'HS256 keyed with the public key',
      token: (c) => {
        const head = `${b64url({ alg: 'HS256', typ: 'JWT', kid: KID })}.${b64url(c)}`;
        return `${head}.${b64url(crypto.createHmac('sha256', publicPem).update(head).digest())}`;
      },
      only: 'signature',
    },
    { kind: 'signed by another key', token: (c) => rs256(c, other.privateKey), only: 'signature' },
    { kind: 'unknown key id', token: (c) => rs256(c, other.privateKey, 'nobody'), only: 'signature' },
    { kind: 'signature cut', token: (c) => rs256(c).replace(/\.[^.]+$/, '.'), only: 'signature' },
    { kind: 'expired', token: (c) => rs256({ ...c, iat: now() - 7200, exp: now() - 3600 }) },
    { kind: 'wrong audience', token: (c) => rs256({ ...c, aud: 'https://elsewhere.example' }) },
    { kind: 'wrong issuer', token: (c) => rs256({ ...c, iss: 'https://evil.example' }) },
    { kind: 'another service account', token: (c) => rs256({ ...c, email: 'someone@faults.iam.gserviceaccount.com' }) },
    { kind: 'email not verified', token: (c) => rs256({ ...c, email_verified: false }) },
    { kind: 'no expiry', token: (c) => rs256({ ...c, exp: undefined }) },
    { kind: 'forged in X-Serverless-Authorization', token: (c) => rs256({ ...c, aud: 'https://elsewhere.example' }), serverless: true },
  ];

  const sinks = new FirestoreSinks(options.firestore);
  const outcomes: TokenOutcome[] = [];
  const forgedIds: string[] = [];
  let controlApplied = true;
  for (const check of ['signature', 'claims'] as PushTokenCheck[]) {
    const client = new (class extends OAuth2Client {
      override async getFederatedSignonCertsAsync() {
        return { certs: { [KID]: publicPem }, format: 'PEM' as never };
      }
    })();
    const app = createProcessorApp({
      spec: options.spec,
      pubsub: options.pubsub,
      firestore: options.firestore,
      verifyPushAuth: { audience: AUDIENCE, serviceAccountEmail: PUSH_SA, tokenCheck: check, client },
      log: createLogger({ level: 'silent' }),
    });
    const server = http.createServer(app.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${pushPath(options.consumer.name)}`;
    const post = async (authorization: string | undefined, serverless: boolean, eventId: string) => {
      const payload = options.payload();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization !== undefined) headers[serverless ? 'x-serverless-authorization' : 'authorization'] = `Bearer ${authorization}`;
      const body = JSON.stringify({
        message: {
          data: Buffer.from(JSON.stringify(payload.data)).toString('base64'),
          attributes: {
            'ce-id': eventId,
            'ce-type': payload.type,
            'ce-source': '//mesh/faults/tokens',
            'ce-specversion': '1.0',
            'ce-time': new Date(Date.now() - 3600_000).toISOString(),
            'content-type': 'application/json',
          },
          messageId: options.newId(),
          publishTime: new Date().toISOString(),
        },
        subscription: `projects/${options.spec.project}/subscriptions/${options.consumer.name}`,
      });
      const response = await fetch(url, { method: 'POST', headers, body });
      await response.arrayBuffer();
      return response.status;
    };
    try {
      for (const forgery of forgeries) {
        if (forgery.only && forgery.only !== check) continue;
        const id = options.newId();
        forgedIds.push(id);
        outcomes.push({ kind: forgery.kind, check, forged: true, status: await post(forgery.token(claims()), Boolean(forgery.serverless), id) });
      }
      const controlId = options.newId();
      const status = await post(rs256(claims()), false, controlId);
      outcomes.push({ kind: 'well-formed token', check, forged: false, status });
      if (status !== 204 || !(await sinks.applied(options.consumer.name, [controlId])).has(controlId)) controlApplied = false;
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await app.stop();
    }
  }
  const leaked = [...(await sinks.applied(options.consumer.name, forgedIds))];
  return { outcomes, accepted: outcomes.filter((o) => o.forged && o.status !== 401 && o.status !== 403), leaked, controlApplied };
}
