import { burnPasswordCheck, hashPassword, verifyPassword } from '../auth/passwords';
import type { Reservation, Strike } from '../auth/rate-limiter';
import type { SessionSubject } from '../auth/sessions/jwt';
import type { Session } from '../auth/sessions/session-store';
import type { AccountDeps } from './account-deps';
import { normalizeEmail } from './email-address';

/** A session as handed to its holder: the only time the refresh token exists in clear. */
export interface IssuedSession {
  session: Session;
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
}

export type LoginResult =
  | ({ ok: true } & IssuedSession)
  | { ok: false; reason: 'invalid_credentials' | 'email_not_verified' }
  | {
      ok: false;
      reason: 'rate_limited';
      retryAfterSeconds: number;
      /** Set when this attempt started a lockout (not while one runs). */
      lockout?: { bucket: LoginBucket; strikes: number };
    };

export type LoginBucket = 'login-email' | 'login-ip';

/** Strikes are forgotten a day after the last lockout ended. */
const FORGET_STRIKES_SECONDS = 86_400;

/**
 * Checks an email and password (a user's or an operator's: same door, different kinds of
 * session). Every attempt is counted against the address and the client IP before the password
 * is checked, so parallel guesses cannot overshoot the limit; a successful login gives its
 * attempts back. A subject that runs out of attempts is locked out with exponential back-off
 * (LOGIN_WINDOW_SECONDS, then twice that, ... up to LOGIN_LOCKOUT_MAX_SECONDS), refused before
 * anything is counted or checked; a lockout of a known account is written to the audit log.
 */
export async function logIn(
  d: AccountDeps,
  input: { email: string; password: string; clientIp: string },
): Promise<LoginResult> {
  const email = normalizeEmail(input.email);
  const window = d.config.LOGIN_WINDOW_SECONDS;
  const limits = [
    { bucket: 'login-email', subject: email, max: d.config.LOGIN_MAX_FAILURES_PER_EMAIL },
    { bucket: 'login-ip', subject: input.clientIp, max: d.config.LOGIN_MAX_FAILURES_PER_IP },
  ] as const;
  const locked = await Promise.all(limits.map((l) => d.limiter.lockedFor(l.bucket, l.subject)));
  const wait = Math.max(...locked);
  if (wait > 0) return { ok: false, reason: 'rate_limited', retryAfterSeconds: wait };

  const slots: Reservation[] = [];
  for (const { bucket, subject, max } of limits) {
    const slot = await d.limiter.reserve({ bucket, max, windowSeconds: window }, subject);
    if (!slot.ok) {
      await Promise.all(slots.map((s) => s.ok && s.release()));
      const rule = {
        bucket,
        baseSeconds: window,
        maxSeconds: Math.max(window, d.config.LOGIN_LOCKOUT_MAX_SECONDS),
        forgetSeconds: FORGET_STRIKES_SECONDS,
      };
      const strike = await d.limiter.strike(rule, subject, slot.retryAfterSeconds);
      if (bucket === 'login-email') await auditLockout(d, email, strike);
      return {
        ok: false,
        reason: 'rate_limited',
        retryAfterSeconds: strike.retryAfterSeconds,
        lockout: { bucket, strikes: strike.strikes },
      };
    }
    slots.push(slot);
  }

  const account = await findAccount(d, email);
  if (!account) {
    await burnPasswordCheck(input.password);
    return { ok: false, reason: 'invalid_credentials' };
  }
  const check = await verifyPassword(input.password, account.passwordHash);
  if (!check.ok) return { ok: false, reason: 'invalid_credentials' };
  await Promise.all([...slots.map((s) => s.ok && s.release()), d.limiter.clearStrikes('login-email', email)]);
  if (check.needsRehash) await account.setPasswordHash(await hashPassword(input.password));
  // Told only to someone who knows the password: it reveals nothing to a guesser.
  if (!account.verified) return { ok: false, reason: 'email_not_verified' };
  return { ok: true, ...(await startSession(d, account.subject)) };
}

/** A lockout of a real account goes to the audit log (operators see attacks on their users). */
async function auditLockout(d: AccountDeps, email: string, strike: Strike): Promise<void> {
  const account = await findAccount(d, email);
  if (!account) return;
  const target =
    account.subject.kind === 'user'
      ? { type: 'tenant' as const, id: account.subject.tenantId, tenantId: account.subject.tenantId }
      : { type: 'operator' as const, id: account.subject.operatorId };
  await d.audit.append(
    d.audit.entry(
      {
        actor: { kind: 'system', id: 'login-limiter' },
        action: 'auth.login_lockout',
        target,
        before: null,
        after: {
          ...(account.subject.kind === 'user' ? { userId: account.subject.userId } : {}),
          strikes: strike.strikes,
          retryAfterSeconds: strike.retryAfterSeconds,
        },
        requestId: null,
      },
      d.now(),
    ),
  );
}

interface Account {
  subject: SessionSubject;
  passwordHash: string;
  verified: boolean;
  setPasswordHash(hash: string): Promise<void>;
}

async function findAccount(d: AccountDeps, email: string): Promise<Account | undefined> {
  const owner = await d.users.findEmailOwner(email);
  if (owner?.kind === 'user') {
    const user = await d.users.getUser(owner.tenantId, owner.userId);
    if (!user) return undefined;
    return {
      subject: { kind: 'user', userId: user.id, tenantId: user.tenantId },
      passwordHash: user.passwordHash,
      verified: user.emailVerifiedAt !== null,
      setPasswordHash: (hash) => d.users.setPasswordHash(user.tenantId, user.id, hash),
    };
  }
  if (owner?.kind === 'operator') {
    const op = await d.operators.get(owner.operatorId);
    if (!op) return undefined;
    return {
      subject: { kind: 'operator', operatorId: op.id },
      passwordHash: op.passwordHash,
      verified: true,
      setPasswordHash: (hash) => d.operators.setPasswordHash(op.id, hash),
    };
  }
  return undefined;
}

export async function startSession(d: AccountDeps, subject: SessionSubject): Promise<IssuedSession> {
  const { session, refreshToken } = await d.sessions.create(subject, d.now(), d.config.REFRESH_TTL_SECONDS);
  const access = await d.accessTokens.issue(session.id, subject);
  return { session, accessToken: access.token, accessExpiresAt: access.expiresAt, refreshToken };
}

export type RefreshOutcome =
  | ({ ok: true } & IssuedSession)
  | { ok: false; reason: 'unknown' | 'ended' | 'reused' };

/**
 * Trades a refresh token for a new access token and a new refresh token. A user removed from
 * their team, or an operator removed, gets nothing even with a good token.
 */
export async function refreshSession(d: AccountDeps, refreshToken: string): Promise<RefreshOutcome> {
  const result = await d.sessions.refresh(refreshToken, d.now());
  if (!result.ok) return result;
  const { subject } = result.session;
  const exists =
    subject.kind === 'user'
      ? (await d.users.getMember(subject.tenantId, subject.userId)) !== undefined
      : (await d.operators.get(subject.operatorId)) !== undefined;
  if (!exists) {
    await d.sessions.revoke(result.session.id);
    return { ok: false, reason: 'ended' };
  }
  const access = await d.accessTokens.issue(result.session.id, subject);
  return {
    ok: true,
    session: result.session,
    accessToken: access.token,
    accessExpiresAt: access.expiresAt,
    refreshToken: result.refreshToken,
  };
}
