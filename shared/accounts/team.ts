import { hashPassword } from '../auth/passwords';
import { invitationMessage } from '../email/templates';
import { newId } from '../ids';
import { type AccountDeps, EMAILS_PER_ADDRESS, tokenLifetimes } from './account-deps';
import { normalizeEmail } from './email-address';
import type { Invitation } from './invitation-store';
import type { TenantRole } from './roles';
import type { Member, RoleChange, User } from './user-store';

type InvitationData = { tenantId: string; invitationId: string; email: string; role: TenantRole };

export type InviteResult =
  | { status: 'invited'; invitation: Invitation }
  | { status: 'email_taken' }
  | { status: 'rate_limited'; retryAfterSeconds: number };

/**
 * Invites an address into a tenant with a role. An address belongs to one account, so one that
 * already has an account is refused (the caller is a signed-in owner: telling them is fine).
 * Inviting the same address again replaces the earlier invitation.
 */
export async function invite(
  d: AccountDeps,
  input: { inviter: Member; email: string; role: TenantRole },
): Promise<InviteResult> {
  const email = normalizeEmail(input.email);
  const { tenantId } = input.inviter;
  if (await d.users.findEmailOwner(email)) return { status: 'email_taken' };
  const slot = await d.limiter.reserve(EMAILS_PER_ADDRESS, email);
  if (!slot.ok) return { status: 'rate_limited', retryAfterSeconds: slot.retryAfterSeconds };
  for (const old of await d.invitations.list(tenantId)) {
    if (old.email === email) await revokeInvitation(d, tenantId, old.id);
  }
  const now = d.now();
  const expires = new Date(now.getTime() + tokenLifetimes.invitationDays * 86_400_000);
  const invitation: Invitation = {
    id: newId('inv', now.getTime()),
    tenantId,
    email,
    role: input.role,
    invitedBy: input.inviter.userId,
    createdAt: now.toISOString(),
    expiresAt: expires.toISOString(),
  };
  const data: InvitationData = { tenantId, invitationId: invitation.id, email, role: input.role };
  const minted = d.tokens.mint('invitation', data, expires);
  await d.transact([minted.put, d.invitations.putItem(invitation, minted.hash)]);
  const tenant = await d.tenants.get(tenantId);
  await d.email.send(
    invitationMessage(email, d.config.PUBLIC_URL, minted.token, {
      tenantName: tenant?.name ?? tenantId,
      inviterEmail: input.inviter.email,
      role: input.role,
      days: tokenLifetimes.invitationDays,
    }),
  );
  return { status: 'invited', invitation };
}

/** Withdraws a pending invitation (its token stops working). False when there is none. */
export async function revokeInvitation(
  d: AccountDeps,
  tenantId: string,
  invitationId: string,
): Promise<boolean> {
  const found = await d.invitations.get(tenantId, invitationId);
  if (!found) return false;
  try {
    await d.transact([
      d.invitations.deleteItem(tenantId, invitationId),
      {
        Delete: {
          ...d.tokens.spendItem('invitation', found.tokenHash).Delete,
          ConditionExpression: undefined,
        },
      },
    ]);
  } catch (err) {
    if ((err as Error).name === 'TransactionCanceledException') return false;
    throw err;
  }
  return true;
}

export type AcceptResult =
  | { status: 'accepted'; member: Member }
  | { status: 'unknown' }
  | { status: 'expired' }
  | { status: 'email_taken' };

/**
 * Accepts an invitation: a new user in the inviting tenant, with the invited role and a verified
 * address (the token came by email), in one transaction with spending the token.
 */
export async function acceptInvitation(
  d: AccountDeps,
  input: { token: string; password: string; name?: string },
): Promise<AcceptResult> {
  const now = d.now();
  const found = await d.tokens.find<InvitationData>('invitation', input.token, now);
  if (found.status !== 'ok') return found;
  const data = found.data;
  if (!(await d.tenants.get(data.tenantId))) return { status: 'unknown' };
  const passwordHash = await hashPassword(input.password);
  const user: User = {
    id: newId('usr', now.getTime()),
    tenantId: data.tenantId,
    email: data.email,
    passwordHash,
    emailVerifiedAt: now.toISOString(),
    createdAt: now.toISOString(),
  };
  const member: Member = {
    userId: user.id,
    tenantId: data.tenantId,
    email: data.email,
    name: input.name?.trim() || null,
    role: data.role,
    joinedAt: now.toISOString(),
  };
  try {
    await d.transact([
      d.tokens.spendItem('invitation', found.hash),
      d.invitations.deleteItem(data.tenantId, data.invitationId),
      ...d.users.newUserItems(user, member),
      ...d.users.ownerCountChange(data.tenantId, data.role === 'owner' ? 1 : 0),
    ]);
  } catch (err) {
    if ((err as Error).name !== 'TransactionCanceledException') throw err;
    // Either the address found an account meanwhile, or the token or invitation was spent.
    return (await d.users.findEmailOwner(data.email)) ? { status: 'email_taken' } : { status: 'unknown' };
  }
  return { status: 'accepted', member };
}

/** Changes a member's role; the last owner keeps theirs. */
export async function changeRole(
  d: AccountDeps,
  input: { tenantId: string; userId: string; role: TenantRole },
): Promise<{ status: RoleChange; member?: Member }> {
  const member = await d.users.getMember(input.tenantId, input.userId);
  if (!member) return { status: 'not_found' };
  const status = await d.users.changeRole(input.tenantId, input.userId, member.role, input.role);
  return { status, member: status === 'changed' ? { ...member, role: input.role } : member };
}

/** Removes a member (their user and address go too) and ends their sessions at once. */
export async function removeMember(d: AccountDeps, tenantId: string, userId: string): Promise<RoleChange> {
  const member = await d.users.getMember(tenantId, userId);
  if (!member) return 'not_found';
  const status = await d.users.remove(member);
  if (status === 'changed') await d.sessions.revokeAllFor({ kind: 'user', tenantId, userId });
  return status;
}
