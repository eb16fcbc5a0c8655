import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { isTenantRole, type Permission, permissionRoles, type TenantRole } from '#shared/accounts/roles';
import { ApiError } from '#shared/errors';
import type { SessionContext, SessionVarsEnv } from '../http/env';

/** Behind `sessionAuth`: the caller must be a tenant user (operators have no tenant). */
export function requireUser() {
  return createMiddleware<SessionVarsEnv>(async (c, next) => {
    if (c.get('session')?.kind !== 'user') {
      throw new ApiError('forbidden', 'Operators belong to no tenant: use the /admin routes.');
    }
    await next();
  });
}

/** Behind `sessionAuth`: the caller must be a platform operator. Tenant users get 403, whatever their role. */
export function requireOperator() {
  return createMiddleware<SessionVarsEnv>(async (c, next) => {
    if (c.get('session')?.kind !== 'operator') {
      throw new ApiError('forbidden', 'Only platform operators may use the /admin routes.');
    }
    await next();
  });
}

/** Behind `sessionAuth`: the caller must be a tenant user with one of `roles`. */
export function requireRole(...roles: TenantRole[]) {
  if (roles.length === 0 || !roles.every(isTenantRole)) {
    throw new TypeError(`requireRole: give one or more of the tenant roles (got ${JSON.stringify(roles)})`);
  }
  const allowed = new Set<TenantRole>(roles);
  return createMiddleware<SessionVarsEnv>(async (c, next) => {
    const session = c.get('session');
    if (session?.kind !== 'user') throw new ApiError('forbidden', 'Operators belong to no tenant.');
    if (!allowed.has(session.member.role)) {
      throw new ApiError(
        'forbidden',
        `Your role (${session.member.role}) may not do this; it takes ${[...allowed].join(' or ')}.`,
      );
    }
    await next();
  });
}

/** `requireRole` for the roles that hold a permission (see shared/accounts/roles.ts). */
export function requirePermission(permission: Permission) {
  const roles = permissionRoles[permission] as readonly TenantRole[] | undefined;
  if (!roles) throw new TypeError(`requirePermission: unknown permission '${permission}'`);
  return requireRole(...roles);
}

/** The session of a tenant user, for handlers behind `requireUser`. */
export function userSession<E extends SessionVarsEnv>(
  c: Context<E>,
): Extract<SessionContext, { kind: 'user' }> {
  const session: SessionContext | undefined = c.get('session');
  if (session?.kind !== 'user') throw new ApiError('forbidden', 'Operators belong to no tenant.');
  return session;
}

/** The session of an operator, for handlers behind `requireOperator`. */
export function operatorSession<E extends SessionVarsEnv>(
  c: Context<E>,
): Extract<SessionContext, { kind: 'operator' }> {
  const session: SessionContext | undefined = c.get('session');
  if (session?.kind !== 'operator') throw new ApiError('forbidden', 'Only platform operators may do this.');
  return session;
}
