import type { Context } from 'hono';
import type { ConsoleEnv } from '#api/http/env';
import type { AuditActor } from '#shared/accounts/audit-log';
import type { LimitsAdminDeps } from '#shared/quotas/limits-admin';
import { operatorSession } from '../../middleware/require-role';

/** What operators' plan and limit changes need, from the request's deps; and who is acting. */
export function limitsAdmin(c: Context<ConsoleEnv>): {
  d: LimitsAdminDeps;
  actor: AuditActor;
  requestId: string;
} {
  const deps = c.get('deps');
  const op = operatorSession(c);
  return {
    d: {
      plans: deps.plans,
      tenants: deps.accounts.tenants,
      audit: deps.accounts.audit,
      authenticator: deps.authenticator,
      transact: deps.accounts.transact,
      now: deps.now,
    },
    actor: { kind: 'operator', id: op.operatorId, email: op.email },
    requestId: c.get('requestId'),
  };
}
