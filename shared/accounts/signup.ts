import { hashPassword } from '../auth/passwords';
import { keys } from '../db/keys';
import { alreadyRegisteredMessage, verifyEmailMessage } from '../email/templates';
import { newId } from '../ids';
import { DEFAULT_PLAN } from '../tenants/plans';
import { type Tenant, tenantPutItems } from '../tenants/tenant-store';
import { type AccountDeps, EMAILS_PER_ADDRESS, tokenLifetimes } from './account-deps';
import { normalizeEmail } from './email-address';
import type { Member, User } from './user-store';

export interface SignupInput {
  email: string;
  password: string;
  name?: string;
  company?: string;
}

/**
 * `accepted` whether the address was new or not: the caller answers both the same way, and only
 * the address's owner learns which (by the email that arrives).
 */
export type SignupResult = { status: 'accepted' } | { status: 'rate_limited'; retryAfterSeconds: number };

/**
 * Signup: a tenant (pending verification), its owner, the address claim and a verification token,
 * in one transaction. An address that already has an account gets a "you already have an
 * account" email (or, if it never verified, a fresh verification email) instead.
 */
export async function signUp(d: AccountDeps, input: SignupInput): Promise<SignupResult> {
  const email = normalizeEmail(input.email);
  // Hashed before anything else, on both paths, so timing does not tell new from known addresses.
  const passwordHash = await hashPassword(input.password);
  const slot = await d.limiter.reserve(EMAILS_PER_ADDRESS, email);
  if (!slot.ok) return { status: 'rate_limited', retryAfterSeconds: slot.retryAfterSeconds };

  const now = d.now();
  const tenant: Tenant = {
    id: newId('ten', now.getTime()),
    name: input.company?.trim() || input.name?.trim() || email.split('@')[0]!,
    status: 'pending_verification',
    plan: DEFAULT_PLAN,
    createdAt: now.toISOString(),
    contactEmail: email,
  };
  const user: User = {
    id: newId('usr', now.getTime()),
    tenantId: tenant.id,
    email,
    passwordHash,
    emailVerifiedAt: null,
    createdAt: now.toISOString(),
  };
  const member: Member = {
    userId: user.id,
    tenantId: tenant.id,
    email,
    name: input.name?.trim() || null,
    role: 'owner',
    joinedAt: now.toISOString(),
  };
  const expires = new Date(now.getTime() + tokenLifetimes.verifyEmailHours * 3_600_000);
  const verify = d.tokens.mint('verify_email', { tenantId: tenant.id, userId: user.id }, expires);
  const [tenantPut, namePut] = tenantPutItems(d.users.table, tenant);
  try {
    await d.transact([
      { Put: { ...tenantPut!.Put, Item: { ...tenantPut!.Put.Item, ownerCount: 1 } } },
      namePut!,
      ...d.users.newUserItems(user, member),
      verify.put,
    ]);
  } catch (err) {
    if ((err as Error).name !== 'TransactionCanceledException') throw err;
    await answerKnownAddress(d, email);
    return { status: 'accepted' };
  }
  await d.email.send(
    verifyEmailMessage(email, d.config.PUBLIC_URL, verify.token, tokenLifetimes.verifyEmailHours),
  );
  return { status: 'accepted' };
}

/** The address is taken: tell its owner, without telling the caller. */
async function answerKnownAddress(d: AccountDeps, email: string): Promise<void> {
  const owner = await d.users.findEmailOwner(email);
  if (owner?.kind === 'user') {
    const user = await d.users.getUser(owner.tenantId, owner.userId);
    if (user && !user.emailVerifiedAt) {
      await sendVerification(d, user);
      return;
    }
  }
  await d.email.send(alreadyRegisteredMessage(email, d.config.PUBLIC_URL));
}

async function sendVerification(d: AccountDeps, user: User): Promise<void> {
  const expires = new Date(d.now().getTime() + tokenLifetimes.verifyEmailHours * 3_600_000);
  const verify = d.tokens.mint('verify_email', { tenantId: user.tenantId, userId: user.id }, expires);
  await d.tokens.save(verify.put);
  await d.email.send(
    verifyEmailMessage(user.email, d.config.PUBLIC_URL, verify.token, tokenLifetimes.verifyEmailHours),
  );
}

/** Sends a new verification token if the address belongs to an unverified user; silent otherwise. */
export async function resendVerification(d: AccountDeps, rawEmail: string): Promise<SignupResult> {
  const email = normalizeEmail(rawEmail);
  const slot = await d.limiter.reserve(EMAILS_PER_ADDRESS, email);
  if (!slot.ok) return { status: 'rate_limited', retryAfterSeconds: slot.retryAfterSeconds };
  const owner = await d.users.findEmailOwner(email);
  if (owner?.kind === 'user') {
    const user = await d.users.getUser(owner.tenantId, owner.userId);
    if (user && !user.emailVerifiedAt) await sendVerification(d, user);
  }
  return { status: 'accepted' };
}

export type VerifyResult =
  | { status: 'verified'; tenantId: string; userId: string }
  | { status: 'unknown' }
  | { status: 'expired' };

/**
 * Spends a verification token: the user is verified and a pending tenant becomes active. A tenant
 * activated here gets its plan's trial in the same transaction (a `trial` grant under a
 * deterministic id, written only if absent), starting prepaid with free-only on: one trial per
 * tenant however often, or however concurrently, verification runs, and never a tenant activated
 * without its trial.
 */
export async function verifyEmail(d: AccountDeps, token: string): Promise<VerifyResult> {
  const now = d.now();
  const found = await d.tokens.find<{ tenantId: string; userId: string }>('verify_email', token, now);
  if (found.status !== 'ok') return found;
  const { tenantId, userId } = found.data;
  let withTrial = true;
  for (let attempt = 0; ; attempt++) {
    const tenant = await d.tenants.get(tenantId);
    // Only a tenant still waiting for verification is activated: never a suspended one.
    const activating = tenant?.status === 'pending_verification';
    const trial =
      activating && withTrial && d.trials ? await d.trials.items(tenantId, tenant.plan, now) : null;
    const fixed = 3;
    try {
      await d.transact([
        d.tokens.spendItem('verify_email', found.hash),
        {
          Update: {
            TableName: d.users.table,
            Key: keys.user(tenantId, userId),
            UpdateExpression: 'SET emailVerifiedAt = if_not_exists(emailVerifiedAt, :now)',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':now': now.toISOString() },
          },
        },
        ...(activating
          ? [
              {
                Update: {
                  TableName: d.users.table,
                  Key: keys.tenant(tenantId),
                  UpdateExpression: trial
                    ? 'SET #s = :active, billingMode = :prepaid, freeOnly = :true'
                    : 'SET #s = :active',
                  ConditionExpression: '#s = :pending',
                  ExpressionAttributeNames: { '#s': 'status' },
                  ExpressionAttributeValues: {
                    ':active': 'active',
                    ':pending': 'pending_verification',
                    ...(trial ? { ':prepaid': 'prepaid', ':true': true } : {}),
                  },
                },
              },
            ]
          : []),
        ...(trial?.items ?? []),
      ]);
      break;
    } catch (err) {
      if ((err as Error).name !== 'TransactionCanceledException') throw err;
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      const failed = (i: number) => reasons[i]?.Code === 'ConditionalCheckFailed';
      const ownFailed = failed(0) || failed(1) || failed(2);
      if (trial && !ownFailed && attempt < 4) {
        // The trial grant exists already: activate without another. The balance changed since
        // it was read (another grant): read it again. A conflict: try again.
        if (failed(fixed)) withTrial = false;
        continue;
      }
      // Spent by a concurrent request, or the user was removed meanwhile.
      return { status: 'unknown' };
    }
  }
  d.authenticator.forgetTenant(tenantId);
  return { status: 'verified', tenantId, userId };
}
