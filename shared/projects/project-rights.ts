import { can, type TenantRole } from '../accounts/roles';
import type { ProjectRole } from './project';

/**
 * What a role may do inside one project. Every member of the tenant may see its projects (as
 * every member may see its team); these are the rights that differ.
 */
export const projectPermissionRoles = {
  /** See the project's keys (never their secrets). */
  'keys:read': ['owner', 'developer', 'viewer'],
  /** Create, revoke, rotate and update the project's keys. */
  'keys:manage': ['owner', 'developer'],
  /** Narrow one of the project's keys (rate limits, budget). */
  'limits:manage': ['owner'],
  /** Rename the project, set its limits and budget, give and take members' project roles. */
  'project:manage': ['owner'],
} as const satisfies Record<string, readonly ProjectRole[]>;

export type ProjectPermission = keyof typeof projectPermissionRoles;

/**
 * A member's role in a project, the one rule every check goes through:
 * - a tenant owner is an owner of every project (they can make themselves one anyway);
 * - anyone else has their project role where they were given one, up or down from their tenant role;
 * - without one, their tenant role's rights carry over: a tenant developer is a developer of every
 *   project, a viewer a viewer; a billing member has no project role (they see money, not keys).
 */
export function effectiveProjectRole(
  tenantRole: TenantRole,
  projectRole?: ProjectRole | null,
): ProjectRole | null {
  if (tenantRole === 'owner') return 'owner';
  if (projectRole) return projectRole;
  if (tenantRole === 'developer' || tenantRole === 'viewer') return tenantRole;
  return null;
}

/** Whether a member with `tenantRole` (and `projectRole` in the project, if any) may do `permission` there. */
export function projectCan(
  tenantRole: TenantRole,
  projectRole: ProjectRole | null | undefined,
  permission: ProjectPermission,
): boolean {
  const role = effectiveProjectRole(tenantRole, projectRole);
  if (role === null) return false;
  return (projectPermissionRoles[permission] as readonly ProjectRole[]).includes(role);
}

/** The tenant-wide permission a project permission falls back to (kept in step: see the test). */
export const tenantFallback = {
  'keys:read': 'keys:read',
  'keys:manage': 'keys:manage',
  'limits:manage': 'limits:manage',
  'project:manage': 'team:manage',
} as const;

/** Whether the fallback (no project role) agrees with the tenant-wide rules: true for every role. */
export function fallbackMatchesTenant(tenantRole: TenantRole, permission: ProjectPermission): boolean {
  return projectCan(tenantRole, null, permission) === can(tenantRole, tenantFallback[permission]);
}
