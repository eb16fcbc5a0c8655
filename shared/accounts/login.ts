import { burnPasswordCheck, hashPassword, verifyPassword } from '../auth/passwords';
import type { Reservation } from '../auth/rate-limiter';
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
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

/**
 * Checks an email and password (a user's or an operator's: same door, different kinds of
 * session). Every attempt is counted against the address and the client IP before the password
 * is checked, so parallel guesses cannot overshoot the limit; a successful login gives its
 * attempts back.
 */
export async function logIn(
  d: AccountDeps,
  input: { email: string; password: string; clientIp: string },
): Promise<LoginResult> {
  const email = normalizeEmail(input.email);
  const window = d.config.LOGIN_WINDOW_SECONDS;
  const slots: Reservation[] = [];
  for (const [bucket, subject, max] of [
    ['login-email', email, d.config.LOGIN_MAX_FAILURES_PER_EMAIL],
    ['login-ip', input.clientIp, d.config.LOGIN_MAX_FAILURES_PER_IP],
  ] as const) {
    const slot = await d.limiter.reserve({ bucket, max, windowSeconds: window }, subject);
    if (!slot.ok) {
      await Promise.all(slots.map((s) => s.ok && s.release()));
      return { ok: false, reason: 'rate_limited', retryAfterSeconds: slot.retryAfterSeconds };
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
  await Promise.all(slots.map((s) => s.ok && s.release()));
  if (check.needsRehash) await account.setPasswordHash(await hashPassword(input.password));
  // Told only to someone who knows the password: it reveals nothing to a guesser.
  if (!account.verified) return { ok: false, reason: 'email_not_verified' };
  return { ok: true, ...(await startSession(d, account.subject)) };
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
