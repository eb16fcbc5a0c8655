import { hashPassword } from '../auth/passwords';
import type { SessionSubject } from '../auth/sessions/jwt';
import { keys } from '../db/keys';
import { resetPasswordMessage } from '../email/templates';
import { type AccountDeps, EMAILS_PER_ADDRESS, tokenLifetimes } from './account-deps';
import { normalizeEmail } from './email-address';

type ResetData =
  | { kind: 'user'; tenantId: string; userId: string }
  | { kind: 'operator'; operatorId: string };

export type ResetRequestResult =
  | { status: 'accepted' }
  | { status: 'rate_limited'; retryAfterSeconds: number };

/** Emails a reset token if the address has an account; answers the same either way. */
export async function requestPasswordReset(d: AccountDeps, rawEmail: string): Promise<ResetRequestResult> {
  const email = normalizeEmail(rawEmail);
  const slot = await d.limiter.reserve(EMAILS_PER_ADDRESS, email);
  if (!slot.ok) return { status: 'rate_limited', retryAfterSeconds: slot.retryAfterSeconds };
  const owner = await d.users.findEmailOwner(email);
  if (!owner) return { status: 'accepted' };
  const data: ResetData =
    owner.kind === 'user'
      ? { kind: 'user', tenantId: owner.tenantId, userId: owner.userId }
      : { kind: 'operator', operatorId: owner.operatorId };
  const minutes = tokenLifetimes.resetPasswordMinutes;
  const reset = d.tokens.mint('reset_password', data, new Date(d.now().getTime() + minutes * 60_000));
  await d.tokens.save(reset.put);
  await d.email.send(resetPasswordMessage(email, d.config.PUBLIC_URL, reset.token, minutes));
  return { status: 'accepted' };
}

export type ResetResult =
  | { status: 'reset'; sessionsEnded: number }
  | { status: 'unknown' }
  | { status: 'expired' };

/**
 * Spends a reset token and sets the new password in one transaction, then ends every session of
 * the account (whoever knew the old password is logged out). A user who resets has proven they
 * hold the address, so an unverified address counts as verified from here on.
 */
export async function resetPassword(d: AccountDeps, token: string, password: string): Promise<ResetResult> {
  const now = d.now();
  const found = await d.tokens.find<ResetData>('reset_password', token, now);
  if (found.status !== 'ok') return found;
  const hash = await hashPassword(password);
  const data = found.data;
  const target =
    data.kind === 'user'
      ? {
          Key: keys.user(data.tenantId, data.userId),
          UpdateExpression: 'SET passwordHash = :h, emailVerifiedAt = if_not_exists(emailVerifiedAt, :now)',
          ExpressionAttributeValues: { ':h': hash, ':now': now.toISOString() },
        }
      : {
          Key: keys.operator(data.operatorId),
          UpdateExpression: 'SET passwordHash = :h',
          ExpressionAttributeValues: { ':h': hash },
        };
  try {
    await d.transact([
      d.tokens.spendItem('reset_password', found.hash),
      { Update: { TableName: d.users.table, ConditionExpression: 'attribute_exists(pk)', ...target } },
    ]);
  } catch (err) {
    if ((err as Error).name === 'TransactionCanceledException') return { status: 'unknown' };
    throw err;
  }
  const subject: SessionSubject =
    data.kind === 'user'
      ? { kind: 'user', tenantId: data.tenantId, userId: data.userId }
      : { kind: 'operator', operatorId: data.operatorId };
  return { status: 'reset', sessionsEnded: await d.sessions.revokeAllFor(subject) };
}
