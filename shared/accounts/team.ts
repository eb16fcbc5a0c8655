import { hashPassword } from '../auth/passwords';
import { invitationMessage } from '../email/templates';
import { newId } from '../ids';
import { type AccountDeps, EMAILS_PER_ADDRESS, tokenLifetimes } from './account-deps';
import type { AuditActor, AuditEntry } from './audit-log';
import { normalizeEmail } from './email-address';
import type { Invitation } from './invitation-store';
import type { TenantRole } from './roles';
import type { Member, RoleChange, User } from './user-store';

type InvitationData = { tenantId: string; invitationId: string; email: string; role: TenantRole };

/** Who made a team change and in which request, for its audit entry. */
export interface TeamAudit {
  actor: AuditActor;
  requestId: string | null;
}

/** A member as the actor of their own change. */
export function memberActor(member: Pick<Member, 'userId' | 'email'>): AuditActor {
  return { kind: 'user', id: member.userId, email: member.email };
}

/** The Put of a team change's audit entry: its target is a member (or an invitation's address) of `tenantId`. */
function teamEntry(
  d: AccountDeps,
  by: TeamAudit,
  change: {
    tenantId: string;
    action: string;
    targetId: string;
    email: string;
    before: AuditEntry['before'];
    after: AuditEntry['after'];
  },
  now: Date,
) {
  return d.audit.putItem(
    d.audit.entry(
      {
        actor: by.actor,
        action: change.action,
        target: { type: 'member', id: change.targetId, tenantId: change.tenantId, name: change.email },
        before: change.before,
        after: change.after,
        requestId: by.requestId,
      },
      now,
    ),
  );
}

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
  input: { inviter: Member; email: string; role: TenantRole; requestId?: string | null },
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
  await d.transact([
    minted.put,
    d.invitations.putItem(invitation, minted.hash),
    teamEntry(
      d,
      { actor: memberActor(input.inviter), requestId: input.requestId ?? null },
      {
        tenantId,
        action: 'member.invite',
        // No user yet: the invitation is the target until it is accepted (`member.join`).
        targetId: invitation.id,
        email,
        before: null,
        after: { email, role: input.role, expiresAt: invitation.expiresAt },
      },
      now,
    ),
  ]);
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

/**
 * Withdraws a pending invitation (its token stops working). False when there is none. With `by`
 * (an owner withdrawing it), audited in the same transaction; a replaced invitation is not: the
 * new invitation's entry says it all.
 */
export async function revokeInvitation(
  d: AccountDeps,
  tenantId: string,
  invitationId: string,
  by?: TeamAudit,
): Promise<boolean> {
  const found = await d.invitations.get(tenantId, invitationId);
  if (!found) return false;
  try {
    await d.transact([
      ...(by
        ? [
            teamEntry(
              d,
              by,
              {
                tenantId,
                action: 'member.invite_revoke',
                targetId: invitationId,
                email: found.email,
                before: { email: found.email, role: found.role },
                after: null,
              },
              d.now(),
            ),
          ]
        : []),
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
  input: { token: string; password: string; name?: string; requestId?: string | null },
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
      teamEntry(
        d,
        { actor: memberActor(member), requestId: input.requestId ?? null },
        {
          tenantId: data.tenantId,
          action: 'member.join',
          targetId: user.id,
          email: data.email,
          before: null,
          after: { role: data.role, invitationId: data.invitationId },
        },
        now,
      ),
    ]);
  } catch (err) {
    if ((err as Error).name !== 'TransactionCanceledException') throw err;
    // Either the address found an account meanwhile, or the token or invitation was spent.
    return (await d.users.findEmailOwner(data.email)) ? { status: 'email_taken' } : { status: 'unknown' };
  }
  return { status: 'accepted', member };
}

/** Changes a member's role; the last owner keeps theirs. Audited with `by`, in the same transaction. */
export async function changeRole(
  d: AccountDeps,
  input: { tenantId: string; userId: string; role: TenantRole; by?: TeamAudit },
): Promise<{ status: RoleChange; member?: Member }> {
  const member = await d.users.getMember(input.tenantId, input.userId);
  if (!member) return { status: 'not_found' };
  const entry = input.by
    ? [
        teamEntry(
          d,
          input.by,
          {
            tenantId: input.tenantId,
            action: 'member.role',
            targetId: member.userId,
            email: member.email,
            before: { role: member.role },
            after: { role: input.role },
          },
          d.now(),
        ),
      ]
    : [];
  const status = await d.users.changeRole(input.tenantId, input.userId, member.role, input.role, entry);
  return { status, member: status === 'changed' ? { ...member, role: input.role } : member };
}

/**
 * Removes a member (their user and address go too) and ends their sessions at once. Audited with
 * `by`, in the same transaction.
 */
export async function removeMember(
  d: AccountDeps,
  tenantId: string,
  userId: string,
  by?: TeamAudit,
): Promise<RoleChange> {
  const member = await d.users.getMember(tenantId, userId);
  if (!member) return 'not_found';
  const entry = by
    ? [
        teamEntry(
          d,
          by,
          {
            tenantId,
            action: 'member.remove',
            targetId: member.userId,
            email: member.email,
            before: { email: member.email, role: member.role },
            after: null,
          },
          d.now(),
        ),
      ]
    : [];
  const status = await d.users.remove(member, entry);
  if (status === 'changed') await d.sessions.revokeAllFor({ kind: 'user', tenantId, userId });
  return status;
}
