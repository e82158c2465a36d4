/**
 * Push authentication: Pub/Sub signs each push request with an OIDC token of the subscription's
 * push service account (`Authorization: Bearer <JWT>`). We accept a request only if the token is
 * Google's (issuer accounts.google.com), is for us (audience), is not expired, and names the push
 * service account with a verified email. Missing, malformed or invalid -> 401; a valid token of
 * someone else -> 403.
 *
 * Two ways to check it (`tokenCheck`, env MESH_PUSH_TOKEN_CHECK):
 *
 * - `'signature'`: verify Google's signature (google-auth-library, Google's certs), then the claims.
 *   For anywhere the token arrives as Google issued it. Verified tokens are cached until they expire
 *   (Pub/Sub reuses one token for many requests), so the signature check is not on the hot path.
 * - `'claims'`: for Cloud Run with IAM authentication. Cloud Run checks the token itself and passes it
 *   on with its signature removed: the third part becomes `SIGNATURE_REMOVED_BY_GOOGLE`, so a
 *   signature check refuses every push
 *   (https://cloud.google.com/run/docs/authenticating/service-to-service). The token is decoded
 *   without a signature check and its claims are checked as above. This is only as strong as the
 *   service's IAM: it must not let allUsers invoke it (then anyone could post any token).
 *
 * The token is read from `X-Serverless-Authorization` when present: a caller that sends it has Cloud
 * Run check that header (and strip its signature) and leaves `Authorization` to the app unchecked
 * (same doc). Pub/Sub push sends `Authorization`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { OAuth2Client, type TokenPayload } from 'google-auth-library';
import { PushAuthError } from './errors';

export type PushTokenCheck = 'claims' | 'signature';

export interface PushAuthOptions {
  /** Expected `aud`: the push endpoint's audience (infra sets the Cloud Run service URL). */
  audience: string | string[];
  /** Expected `email`: the subscription's push service account. */
  serviceAccountEmail: string;
  /** 'signature' (default): verify Google's signature and the claims. 'claims': claims only, for behind Cloud Run IAM (see above). */
  tokenCheck?: PushTokenCheck;
  /** Client used to fetch Google's certs and verify ('signature'). Default: a new OAuth2Client. Tests inject one with local certs. */
  client?: OAuth2Client;
  /** Replaces the signature/audience/issuer check entirely ('signature'; tests); must throw on an invalid token. */
  verifyToken?: (token: string, audience: string | string[]) => Promise<TokenPayload | undefined>;
  /** Accepted issuers. Default accounts.google.com and https://accounts.google.com. */
  issuers?: string[];
  /** Verified tokens kept ('signature'). Default 1000. */
  cacheSize?: number;
  /** Clock skew allowed on exp / iat ('claims'). Default 300 s, as google-auth-library allows. */
  clockSkewSeconds?: number;
}

/** Resolves when the request's token (the value of pushTokenHeader()) is acceptable, else throws PushAuthError. */
export type PushVerifier = (authorization: string | undefined) => Promise<void>;

const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];
/** What Cloud Run puts in place of the signature of a token it has checked. */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';

/** The header carrying the token: X-Serverless-Authorization when present (Cloud Run checked that one), else Authorization. */
export function pushTokenHeader(headers: IncomingHttpHeaders): string | undefined {
  const serverless = headers['x-serverless-authorization'];
  return (Array.isArray(serverless) ? serverless[0] : serverless) ?? headers.authorization;
}

export function createPushVerifier(options: PushAuthOptions): PushVerifier {
  const issuers = options.issuers ?? GOOGLE_ISSUERS;
  const checkIdentity = (payload: { email?: unknown; email_verified?: unknown }) => {
    if (payload.email !== options.serviceAccountEmail)
      throw new PushAuthError(403, `token is for ${typeof payload.email === 'string' ? payload.email : 'no email'}, not the push service account`);
    if (payload.email_verified !== true) throw new PushAuthError(403, 'token email is not verified');
  };
  if (options.tokenCheck === 'claims') {
    const audiences = ([] as string[]).concat(options.audience);
    const skew = options.clockSkewSeconds ?? 300;
    return async (authorization) => {
      const payload = decodeJwt(bearerToken(authorization));
      const aud = ([] as unknown[]).concat(payload.aud);
      if (!aud.some((a) => typeof a === 'string' && audiences.includes(a))) throw new PushAuthError(401, 'invalid token: wrong audience');
      if (typeof payload.iss !== 'string' || !issuers.includes(payload.iss))
        throw new PushAuthError(401, `invalid token: issuer ${String(payload.iss)} is not Google`);
      const now = Date.now() / 1000;
      if (typeof payload.exp !== 'number') throw new PushAuthError(401, 'invalid token: no expiry (exp)');
      if (payload.exp + skew < now) throw new PushAuthError(401, 'invalid token: expired');
      if (typeof payload.iat === 'number' && payload.iat - skew > now) throw new PushAuthError(401, 'invalid token: issued in the future (iat)');
      checkIdentity(payload);
    };
  }

  const client = options.client ?? new OAuth2Client();
  const verify =
    options.verifyToken ?? (async (idToken: string, audience: string | string[]) => (await client.verifyIdToken({ idToken, audience })).getPayload());
  const cacheSize = options.cacheSize ?? 1000;
  /** token -> expiry (ms). */
  const cache = new Map<string, number>();

  return async (authorization) => {
    const token = bearerToken(authorization);
    const cachedUntil = cache.get(token);
    if (cachedUntil !== undefined) {
      if (cachedUntil > Date.now()) return;
      cache.delete(token);
    }
    if (token.endsWith(`.${SIGNATURE_REMOVED}`)) {
      throw new PushAuthError(
        401,
        `invalid token: its signature was removed by Cloud Run (${SIGNATURE_REMOVED}), which checked it already; use MESH_PUSH_TOKEN_CHECK=claims there`,
      );
    }
    let payload: TokenPayload | undefined;
    try {
      payload = await verify(token, options.audience);
    } catch (error) {
      throw new PushAuthError(401, `invalid token: ${(error as Error).message.split(':')[0]}`);
    }
    if (!payload) throw new PushAuthError(401, 'invalid token: no payload');
    if (!issuers.includes(payload.iss)) throw new PushAuthError(401, `invalid token: issuer ${payload.iss} is not Google`);
    checkIdentity(payload);
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, payload.exp * 1000);
  };
}

function bearerToken(authorization: string | undefined): string {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) throw new PushAuthError(401, authorization ? 'Authorization header is not a Bearer token' : 'missing Authorization header');
  return match[1];
}

/** A JWT's payload, without checking its signature; PushAuthError 401 when it is not a well-formed JWT. */
function decodeJwt(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new PushAuthError(401, `malformed token: ${parts.length} part${parts.length === 1 ? '' : 's'}, a JWT has 3`);
  const header = jsonPart(parts[0], 'header');
  if (typeof header.alg !== 'string') throw new PushAuthError(401, 'malformed token: the header has no alg');
  return jsonPart(parts[1], 'payload');
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(part)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new PushAuthError(401, `malformed token: the ${what} is not base64url JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PushAuthError(401, `malformed token: the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
