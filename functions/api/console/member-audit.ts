import type { Context } from 'hono';
import type { AuditEntry } from '#shared/accounts/audit-log';
import type { ApiKey } from '#shared/auth/api-key-store';
import type { TransactItem } from '#shared/db/transact';
import type { ConsoleEnv } from '../http/env';
import { userSession } from '../middleware/require-role';

/** What a member changed in their own tenant, for its audit entry. */
export interface MemberChange {
  /** `api_key.create`, `member.role`, … (see docs/audit.md). */
  action: string;
  /** The target in the member's tenant: its type, id and name (key name, member email). */
  target: Omit<AuditEntry['target'], 'tenantId'>;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/**
 * The audit entry of a change a signed-in member made in their own tenant: the member as actor,
 * the target in the tenant's trail (`target.tenantId`), this request's id.
 */
export function memberAudit(c: Context<ConsoleEnv>, change: MemberChange): AuditEntry {
  const session = userSession(c);
  const { accounts, now } = c.get('deps');
  return accounts.audit.entry(
    {
      actor: { kind: 'user', id: session.userId, email: session.member.email },
      action: change.action,
      target: { ...change.target, tenantId: session.tenantId },
      before: change.before,
      after: change.after,
      requestId: c.get('requestId'),
    },
    now(),
  );
}

/** The Put of that entry, for the transaction that makes the change. */
export function memberAuditItem(c: Context<ConsoleEnv>, change: MemberChange): TransactItem {
  return c.get('deps').accounts.audit.putItem(memberAudit(c, change));
}

/** What an audit entry records of a key: what it may do and its limits, never its secret or hash. */
export function keyAuditFields(key: ApiKey): Record<string, unknown> {
  return {
    name: key.name,
    prefix: key.visiblePrefix,
    scopes: key.scopes,
    expiresAt: key.expiresAt,
    limits: key.limits ?? null,
    ...(key.projectId ? { projectId: key.projectId } : {}),
    ...(key.scope ? { scope: key.scope } : {}),
  };
}

/** A key as an audit target: its id and name. */
export function keyTarget(key: ApiKey): MemberChange['target'] {
  return { type: 'api_key', id: key.id, name: key.name };
}
