/**
 * Push authentication behind Cloud Run. Cloud Run with IAM authentication checks the push's ID token
 * itself and hands it to the container with the signature replaced by SIGNATURE_REMOVED_BY_GOOGLE
 * (https://cloud.google.com/run/docs/authenticating/service-to-service), so verifying the signature
 * again refused every push. Tokens here have the shape Google issues for a push subscription's service
 * account (header {alg: RS256, kid, typ: JWT}; payload {aud, azp, email, email_verified, exp, iat, iss,
 * sub}), signed with a local key, and the shape Cloud Run passes on (the same, signature removed).
 */
import * as crypto from 'node:crypto';
import type { PubSub } from '@google-cloud/pubsub';
import { OAuth2Client } from 'google-auth-library';
import request from 'supertest';
import {
  ConsumerConfigError,
  createLogger,
  createMeshService,
  pushAuthFromEnv,
  pushTokenCheckFromEnv,
  type DeadLetterSink,
  type PushAuthOptions,
} from '../../shared/consumer';
import { createEvent, toPubsubMessage } from '../../shared/envelope';
import { pushBody } from '../support/push-body';
import { specFromText } from '../support/specs';

const AUDIENCE = 'https://processor-abc-uc.a.run.app';
const PUSH_SA = 'mesh-push@proj.iam.gserviceaccount.com';
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** OAuth2Client whose "Google certs" are our local public key. */
class LocalCertsClient extends OAuth2Client {
  override async getFederatedSignonCertsAsync() {
    return { certs: { 'local-key': publicPem }, format: 'PEM' as never };
  }
}

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** An ID token as Google issues it for the push service account. */
function googleToken(claims: Record<string, unknown> = {}): string {
  const header = b64url({ alg: 'RS256', kid: 'local-key', typ: 'JWT' });
  const payload = b64url({
    aud: AUDIENCE,
    azp: '1098765432101234567890',
    email: PUSH_SA,
    email_verified: true,
    exp: now() + 3600,
    iat: now(),
    iss: 'https://accounts.google.com',
    sub: '1098765432101234567890',
    ...claims,
  });
  return `${header}.${payload}.${crypto.sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), keys.privateKey).toString('base64url')}`;
}

/** The same token as Cloud Run passes it to the container after checking it. */
const cloudRunToken = (claims: Record<string, unknown> = {}) => googleToken(claims).replace(/\.[^.]+$/, '.SIGNATURE_REMOVED_BY_GOOGLE');

const spec = specFromText(`
version: 1
project: auth-test
topics:
  analytics: { schema: { dir: schemas/analytics, revisions: [v1, v2] }, eventTypes: [click, view, like.created, like.removed] }
services:
  svc: { localPort: 18095 }
consumers:
  svc-analytics: { topic: analytics, delivery: push, service: svc }
warehouse: { dataset: test }
`);
const noSink: DeadLetterSink = { publish: async () => 'x', flush: async () => undefined };

function body(): string {
  const m = toPubsubMessage(
    createEvent({
      type: 'click',
      source: '//t',
      schemaVersion: 'v2',
      data: { userId: 'u', sessionId: '', page: '', element: '', postId: '', country: '', durationMs: 0 },
    }),
  );
  return pushBody(m, { subscription: 'projects/p/subscriptions/svc-analytics' });
}

function pushService(auth: Partial<PushAuthOptions>) {
  const handler = jest.fn(async () => 'done' as const);
  const service = createMeshService({
    spec,
    serviceName: 'svc',
    handlers: { 'svc-analytics': handler },
    pubsub: {} as PubSub,
    deadLetter: () => noSink,
    log: createLogger({ level: 'silent' }),
    verifyPushAuth: { audience: AUDIENCE, serviceAccountEmail: PUSH_SA, client: new LocalCertsClient(), ...auth },
  });
  const post = (headers: Record<string, string>) =>
    request(service.listener).post('/pubsub/push/svc-analytics').set('content-type', 'application/json').set(headers).send(body());
  return { handler, post };
}

describe("tokenCheck 'claims' (behind Cloud Run IAM)", () => {
  const { handler, post } = pushService({ tokenCheck: 'claims' });
  beforeEach(() => handler.mockClear());

  it('accepts the token Cloud Run passes on, signature removed, with the right claims', async () => {
    // Before the fix there was only the signature check: 401 for every push on Cloud Run.
    expect((await post({ authorization: `Bearer ${cloudRunToken()}` })).status).toBe(204);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('accepts an expiry within the clock skew google-auth-library allows (5 min)', async () => {
    expect((await post({ authorization: `Bearer ${cloudRunToken({ exp: now() - 60 })}` })).status).toBe(204);
  });

  it('reads X-Serverless-Authorization, the header Cloud Run checked, when present', async () => {
    // The caller's own Authorization is the app's business, left unchecked by Cloud Run.
    expect((await post({ 'x-serverless-authorization': `Bearer ${cloudRunToken()}`, authorization: 'Bearer app-session-token' })).status).toBe(204);
    const other = await post({
      'x-serverless-authorization': `Bearer ${cloudRunToken({ email: 'intruder@proj.iam.gserviceaccount.com' })}`,
      authorization: `Bearer ${cloudRunToken()}`,
    });
    expect(other.status).toBe(403);
  });

  it.each([
    ['a missing token', {}, 401, /missing Authorization/],
    ['a non-Bearer header', { authorization: 'Basic dXNlcjpwdw==' }, 401, /not a Bearer/],
    ['a wrong audience', { authorization: `Bearer ${cloudRunToken({ aud: 'https://someone-else-uc.a.run.app' })}` }, 401, /wrong audience/],
    ['no audience', { authorization: `Bearer ${cloudRunToken({ aud: undefined })}` }, 401, /wrong audience/],
    [
      'a non-Google issuer',
      { authorization: `Bearer ${cloudRunToken({ iss: 'https://evil.example.com' })}` },
      401,
      /issuer https:\/\/evil.example.com is not Google/,
    ],
    ['an expired token', { authorization: `Bearer ${cloudRunToken({ iat: now() - 7200, exp: now() - 3600 })}` }, 401, /expired/],
    ['no expiry', { authorization: `Bearer ${cloudRunToken({ exp: undefined })}` }, 401, /no expiry/],
    ['a token issued in the future', { authorization: `Bearer ${cloudRunToken({ iat: now() + 3600, exp: now() + 7200 })}` }, 401, /issued in the future/],
    ['a wrong email', { authorization: `Bearer ${cloudRunToken({ email: 'intruder@proj.iam.gserviceaccount.com' })}` }, 403, /not the push service account/],
    ['an unverified email', { authorization: `Bearer ${cloudRunToken({ email_verified: false })}` }, 403, /not verified/],
    ['email_verified as a string', { authorization: `Bearer ${cloudRunToken({ email_verified: 'true' })}` }, 403, /not verified/],
    ['two parts', { authorization: `Bearer ${cloudRunToken().split('.').slice(0, 2).join('.')}` }, 401, /malformed token: 2 parts/],
    ['four parts', { authorization: `Bearer ${cloudRunToken()}.x` }, 401, /malformed token: 4 parts/],
    [
      'a payload that is not JSON',
      { authorization: `Bearer ${b64url({ alg: 'RS256' })}.${b64url('not json')}.SIGNATURE_REMOVED_BY_GOOGLE` },
      401,
      /payload is not base64url JSON/,
    ],
    [
      'a payload that is not base64url',
      { authorization: `Bearer ${b64url({ alg: 'RS256' })}.a+b/c=.SIGNATURE_REMOVED_BY_GOOGLE` },
      401,
      /payload is not base64url JSON/,
    ],
    [
      'a payload that is a JSON array',
      { authorization: `Bearer ${b64url({ alg: 'RS256' })}.${b64url([1])}.SIGNATURE_REMOVED_BY_GOOGLE` },
      401,
      /payload is not a JSON object/,
    ],
    [
      'a header without alg',
      { authorization: `Bearer ${b64url({ typ: 'JWT' })}.${cloudRunToken().split('.')[1]}.SIGNATURE_REMOVED_BY_GOOGLE` },
      401,
      /header has no alg/,
    ],
  ])('refuses %s', async (_what, headers, status, reason) => {
    const res = await post(headers);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(reason);
    expect(handler).not.toHaveBeenCalled();
  });
});

describe("tokenCheck 'signature' (the default off Cloud Run)", () => {
  const { handler, post } = pushService({});

  it('refuses the token as Cloud Run passes it on, saying why: the bug on Cloud Run', async () => {
    const res = await post({ authorization: `Bearer ${cloudRunToken()}` });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/signature was removed by Cloud Run.*MESH_PUSH_TOKEN_CHECK=claims/);
    expect(handler).not.toHaveBeenCalled();
  });

  it('accepts the token as Google issued it', async () => {
    expect((await post({ authorization: `Bearer ${googleToken()}` })).status).toBe(204);
  });
});

describe('MESH_PUSH_TOKEN_CHECK', () => {
  const auth = { MESH_PUSH_AUDIENCE: AUDIENCE, MESH_PUSH_SERVICE_ACCOUNT: PUSH_SA };

  it("defaults to 'claims' on Cloud Run (K_SERVICE is set) and 'signature' elsewhere", () => {
    expect(pushTokenCheckFromEnv({ K_SERVICE: 'processor' })).toBe('claims');
    expect(pushTokenCheckFromEnv({})).toBe('signature');
    expect(pushAuthFromEnv({ ...auth, K_SERVICE: 'processor' })).toEqual({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, tokenCheck: 'claims' });
    expect(pushAuthFromEnv(auth)).toEqual({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, tokenCheck: 'signature' });
  });

  it('is taken as set, and refused when it is neither value', () => {
    expect(pushTokenCheckFromEnv({ K_SERVICE: 'processor', MESH_PUSH_TOKEN_CHECK: 'signature' })).toBe('signature');
    expect(pushTokenCheckFromEnv({ MESH_PUSH_TOKEN_CHECK: ' Claims ' })).toBe('claims');
    expect(() => pushTokenCheckFromEnv({ MESH_PUSH_TOKEN_CHECK: 'none' })).toThrow(ConsumerConfigError);
    expect(() => pushAuthFromEnv({ ...auth, MESH_PUSH_TOKEN_CHECK: 'off' })).toThrow(/MESH_PUSH_TOKEN_CHECK must be "claims" or "signature"/);
  });
});
