import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { SESSION_ALG, type SigningKeyProvider } from './signing-keys';

/** Who a session belongs to: a tenant's user, or a platform operator (who belongs to no tenant). */
export type SessionSubject =
  | { kind: 'user'; userId: string; tenantId: string }
  | { kind: 'operator'; operatorId: string };

export interface AccessClaims {
  sessionId: string;
  subject: SessionSubject;
  issuedAt: Date;
  expiresAt: Date;
}

export type AccessTokenCheck =
  | { ok: true; claims: AccessClaims }
  | { ok: false; reason: 'expired' | 'invalid' };

/** The audience every session token carries: the account, admin and console APIs. */
export const SESSION_AUDIENCE = 'tollgate:session';

/** The issuer of one stage's session tokens: tokens never cross stages. */
export function sessionIssuer(stage: string): string {
  return `tollgate:${stage}`;
}

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Short-lived session access tokens: ES256 JWTs with `kid`, `iss`, `aud`, `sub`, `sid`, `exp`.
 * Verification pins the algorithm (so `alg: none` and HMAC-with-the-public-key tricks fail),
 * the issuer and the audience, and takes the key by `kid` from the provider only.
 */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyProvider,
    private readonly opts: { issuer: string; ttlSeconds: number; now: () => Date },
  ) {}

  async issue(sessionId: string, subject: SessionSubject): Promise<{ token: string; expiresAt: Date }> {
    const { kid, key } = await this.keys.signingKey();
    const now = Math.floor(this.opts.now().getTime() / 1000);
    const exp = now + this.opts.ttlSeconds;
    const claims: JWTPayload & Record<string, unknown> =
      subject.kind === 'user' ? { kind: 'user', tid: subject.tenantId } : { kind: 'operator' };
    const token = await new SignJWT({ ...claims, sid: sessionId })
      .setProtectedHeader({ alg: SESSION_ALG, kid, typ: 'JWT' })
      .setIssuer(this.opts.issuer)
      .setAudience(SESSION_AUDIENCE)
      .setSubject(subject.kind === 'user' ? subject.userId : subject.operatorId)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The public keys tokens are verified with, for `/.well-known/jwks.json`. */
  publicJwks() {
    return this.keys.publicJwks();
  }

  async verify(token: string): Promise<AccessTokenCheck> {
    if (token.length > 4096 || !JWT_RE.test(token)) return { ok: false, reason: 'invalid' };
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.verificationKey(header.kid) : undefined;
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: [SESSION_ALG],
          issuer: this.opts.issuer,
          audience: SESSION_AUDIENCE,
          typ: 'JWT',
          currentDate: this.opts.now(),
          clockTolerance: 5,
          requiredClaims: ['sub', 'sid', 'iat', 'exp', 'kind'],
        },
      );
      const subject = toSubject(payload);
      if (!subject || typeof payload.sid !== 'string') return { ok: false, reason: 'invalid' };
      return {
        ok: true,
        claims: {
          sessionId: payload.sid,
          subject,
          issuedAt: new Date(payload.iat! * 1000),
          expiresAt: new Date(payload.exp! * 1000),
        },
      };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
      if (err instanceof errors.JOSEError) return { ok: false, reason: 'invalid' };
      throw err;
    }
  }
}

function toSubject(payload: JWTPayload): SessionSubject | undefined {
  if (typeof payload.sub !== 'string') return undefined;
  if (payload.kind === 'user' && typeof payload.tid === 'string')
    return { kind: 'user', userId: payload.sub, tenantId: payload.tid };
  if (payload.kind === 'operator') return { kind: 'operator', operatorId: payload.sub };
  return undefined;
}
