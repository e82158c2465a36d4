/**
 * Push authentication: Pub/Sub signs each push request with an OIDC token of the subscription's
 * push service account (`Authorization: Bearer <JWT>`). We accept a request only if the token is
 * signed by Google (issuer accounts.google.com), is for us (audience), and names the push service
 * account with a verified email. Missing or invalid -> 401; a valid token of someone else -> 403.
 *
 * Verified tokens are cached until they expire (Pub/Sub reuses one token for many requests), so the
 * signature check is not on the hot path.
 */
import { OAuth2Client, type TokenPayload } from 'google-auth-library';
import { PushAuthError } from './errors';

export interface PushAuthOptions {
  /** Expected `aud`: the push endpoint's audience (infra sets the Cloud Run service URL). */
  audience: string | string[];
  /** Expected `email`: the subscription's push service account. */
  serviceAccountEmail: string;
  /** Client used to fetch Google's certs and verify. Default: a new OAuth2Client. Tests inject one with local certs. */
  client?: OAuth2Client;
  /** Replaces the signature/audience/issuer check entirely (tests); must throw on an invalid token. */
  verifyToken?: (token: string, audience: string | string[]) => Promise<TokenPayload | undefined>;
  /** Accepted issuers. Default accounts.google.com and https://accounts.google.com. */
  issuers?: string[];
  /** Verified tokens kept. Default 1000. */
  cacheSize?: number;
}

/** Resolves when the Authorization header is acceptable, else throws PushAuthError. */
export type PushVerifier = (authorization: string | undefined) => Promise<void>;

const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

export function createPushVerifier(options: PushAuthOptions): PushVerifier {
  const issuers = options.issuers ?? GOOGLE_ISSUERS;
  const client = options.client ?? new OAuth2Client();
  const verify =
    options.verifyToken ?? (async (idToken: string, audience: string | string[]) => (await client.verifyIdToken({ idToken, audience })).getPayload());
  const cacheSize = options.cacheSize ?? 1000;
  /** token -> expiry (ms). */
  const cache = new Map<string, number>();

  return async (authorization) => {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) throw new PushAuthError(401, authorization ? 'Authorization header is not a Bearer token' : 'missing Authorization header');
    const token = match[1];
    const cachedUntil = cache.get(token);
    if (cachedUntil !== undefined) {
      if (cachedUntil > Date.now()) return;
      cache.delete(token);
    }
    let payload: TokenPayload | undefined;
    try {
      payload = await verify(token, options.audience);
    } catch (error) {
      throw new PushAuthError(401, `invalid token: ${(error as Error).message.split(':')[0]}`);
    }
    if (!payload) throw new PushAuthError(401, 'invalid token: no payload');
    if (!issuers.includes(payload.iss)) throw new PushAuthError(401, `invalid token: issuer ${payload.iss} is not Google`);
    if (payload.email !== options.serviceAccountEmail) throw new PushAuthError(403, `token is for ${payload.email ?? 'no email'}, not the push service account`);
    if (payload.email_verified !== true) throw new PushAuthError(403, 'token email is not verified');
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, payload.exp * 1000);
  };
}
