/**
 * Push OIDC verification with google-auth-library's real OAuth2Client, pointed at a local key:
 * tokens are RS256 JWTs signed here, and the client's cert fetch returns our public key.
 */
import * as crypto from 'node:crypto';
import type { PubSub } from '@google-cloud/pubsub';
import { OAuth2Client } from 'google-auth-library';
import request from 'supertest';
import { createLogger, createMeshService, createPushVerifier, PushAuthError, type DeadLetterSink } from '../../shared/consumer';
import { toPubsubMessage, createEvent } from '../../shared/envelope';
import { pushBody } from '../support/push-body';
import { specFromText } from '../support/specs';

const AUDIENCE = 'https://processor-abc.a.run.app';
const PUSH_SA = 'push@proj.iam.gserviceaccount.com';

const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** OAuth2Client whose "Google certs" are our local public key. */
class LocalCertsClient extends OAuth2Client {
  override async getFederatedSignonCertsAsync() {
    return { certs: { 'local-key': publicPem }, format: 'PEM' as never };
  }
}

const b64url = (value: object | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

function sign(claims: Record<string, unknown> = {}, key: crypto.KeyObject = keys.privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'RS256', typ: 'JWT', kid: 'local-key' });
  const payload = b64url({
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    sub: '1234',
    email: PUSH_SA,
    email_verified: true,
    iat: now,
    exp: now + 3600,
    ...claims,
  });
  const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${b64url(signature)}`;
}

const spec = specFromText(`
version: 1
project: auth-test
topics:
  analytics: { schema: { dir: schemas/analytics, revisions: [v1, v2] }, eventTypes: [click, view, like.created, like.removed] }
services:
  svc: { localPort: 18090 }
consumers:
  svc-analytics: { topic: analytics, delivery: push, service: svc }
warehouse: { dataset: test }
`);

const noSink: DeadLetterSink = { publish: async () => 'x', flush: async () => undefined };
const silent = createLogger({ level: 'silent' });

function body(): string {
  const event = createEvent({
    type: 'click',
    source: '//t',
    schemaVersion: 'v2',
    data: { userId: 'u', sessionId: '', page: '', element: '', postId: '', country: '', durationMs: 0 },
  });
  return pushBody(toPubsubMessage(event), { subscription: 'projects/p/subscriptions/svc-analytics' });
}

describe('push authentication through the service listener', () => {
  const handler = jest.fn(async () => 'done' as const);
  const service = createMeshService({
    spec,
    serviceName: 'svc',
    handlers: { 'svc-analytics': handler },
    pubsub: {} as PubSub,
    deadLetter: () => noSink,
    log: silent,
    verifyPushAuth: { audience: AUDIENCE, serviceAccountEmail: PUSH_SA, client: new LocalCertsClient() },
  });
  const post = (authorization?: string) => {
    const req = request(service.listener).post('/pubsub/push/svc-analytics').set('content-type', 'application/json');
    if (authorization) req.set('authorization', authorization);
    return req.send(body());
  };
  beforeEach(() => handler.mockClear());

  it('accepts a token of the push service account for our audience', async () => {
    expect((await post(`Bearer ${sign()}`)).status).toBe(204);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a missing Authorization header', undefined, 401, /missing Authorization/],
    ['a non-Bearer header', 'Basic dXNlcjpwdw==', 401, /not a Bearer/],
    ['garbage', 'Bearer not.a.jwt', 401, /invalid token/],
    ['a wrong audience', `Bearer ${sign({ aud: 'https://someone-else.run.app' })}`, 401, /Wrong recipient/],
    ['a forged signature', `Bearer ${sign({}, otherKeys.privateKey)}`, 401, /Invalid token signature/],
    ['an expired token', `Bearer ${sign({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })}`, 401, /too late/],
    ['a non-Google issuer', `Bearer ${sign({ iss: 'https://evil.example.com' })}`, 401, /Invalid issuer/],
    ['a wrong email', `Bearer ${sign({ email: 'intruder@proj.iam.gserviceaccount.com' })}`, 403, /not the push service account/],
    ['an unverified email', `Bearer ${sign({ email_verified: false })}`, 403, /not verified/],
  ])('refuses %s', async (_what, authorization, status, reason) => {
    const res = await post(authorization);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(reason);
    expect(handler).not.toHaveBeenCalled();
  });

  it('checks the token before reading the body', async () => {
    const res = await request(service.listener).post('/pubsub/push/svc-analytics').set('content-type', 'application/json').send('not json at all');
    expect(res.status).toBe(401);
  });

  it('leaves health and stats open', async () => {
    expect((await request(service.listener).get('/healthz')).status).toBe(200);
  });
});

describe('createPushVerifier', () => {
  it('verifies a token once and then serves it from the cache until it expires', async () => {
    const verifyToken = jest.fn(async () => ({
      iss: 'accounts.google.com',
      aud: AUDIENCE,
      email: PUSH_SA,
      email_verified: true,
      iat: 0,
      exp: Date.now() / 1000 + 60,
      sub: '1',
    }));
    const verify = createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, verifyToken });
    await verify('Bearer t1');
    await verify('bearer t1');
    expect(verifyToken).toHaveBeenCalledTimes(1);
    expect(verifyToken).toHaveBeenCalledWith('t1', AUDIENCE);
  });

  it('maps verification failures to 401 without echoing the token', async () => {
    const verify = createPushVerifier({
      audience: AUDIENCE,
      serviceAccountEmail: PUSH_SA,
      verifyToken: async () => Promise.reject(new Error('Invalid token signature: eyJsecret')),
    });
    const error = await verify('Bearer eyJsecret').catch((e: PushAuthError) => e);
    expect(error).toBeInstanceOf(PushAuthError);
    expect((error as PushAuthError).status).toBe(401);
    expect((error as PushAuthError).message).not.toContain('eyJsecret');
  });
});
