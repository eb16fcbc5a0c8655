import type { AccountDeps } from '#shared/accounts/account-deps';
import type { Member } from '#shared/accounts/user-store';
import { ApiError } from '#shared/errors';
import { DEFAULT_PROJECT_ID, type Project, type ProjectRole } from '#shared/projects/project';
import { effectiveProjectRole, type ProjectPermission, projectCan } from '#shared/projects/project-rights';
import type { Tenant } from '#shared/tenants/tenant-store';

/** What the project checks read from a user's session. */
export interface ProjectCaller {
  tenantId: string;
  userId: string;
  member: Member;
  tenant: Tenant;
}

/** The one answer to an unknown project, another tenant's, or an id that is not a project's: 404. */
export function projectNotFound(projectId: string, param = 'project_id'): ApiError {
  return new ApiError('not_found', `No project '${projectId}' in your account.`, { param });
}

/** Whether a string could be a project id (the default one, or `proj_` and an id). */
export function isProjectId(value: string): boolean {
  return value === DEFAULT_PROJECT_ID || /^proj_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

/**
 * The caller's project (404 when it is not one of their tenant's) with their effective role in it
 * (shared/projects/project-rights.ts); with `permission`, 403 unless that role allows it.
 */
export async function projectFor(
  accounts: AccountDeps,
  caller: ProjectCaller,
  projectId: string,
  permission?: ProjectPermission,
  opts: { param?: string } = {},
): Promise<{ project: Project; role: ProjectRole | null }> {
  if (!isProjectId(projectId)) throw projectNotFound(projectId, opts.param);
  const [project, given] = await Promise.all([
    accounts.projects.get(caller.tenantId, projectId, {
      consistent: true,
      defaultCreatedAt: caller.tenant.createdAt,
    }),
    caller.member.role === 'owner'
      ? undefined
      : accounts.projects.member(caller.tenantId, projectId, caller.userId),
  ]);
  if (!project) throw projectNotFound(projectId, opts.param);
  const role = effectiveProjectRole(caller.member.role, given?.role);
  if (permission && !projectCan(caller.member.role, given?.role, permission)) {
    throw new ApiError(
      'forbidden',
      `Your role in project '${project.name}' (${role ?? 'none'}) may not do this; it takes ${describe(permission)}.`,
      { param: opts.param ?? null },
    );
  }
  return { project, role };
}

function describe(permission: ProjectPermission): string {
  return permission === 'keys:manage'
    ? 'owner or developer'
    : permission === 'keys:read'
      ? 'any project role'
      : 'owner';
}

/** The caller's effective role in a project without a read of the project (for key checks by a key's project). */
export async function roleIn(
  accounts: AccountDeps,
  caller: ProjectCaller,
  projectId: string,
): Promise<ProjectRole | null> {
  if (caller.member.role === 'owner') return 'owner';
  const given = await accounts.projects.member(caller.tenantId, projectId, caller.userId);
  return effectiveProjectRole(caller.member.role, given?.role);
}

/** 403 unless the caller may do `permission` in the key's project. */
export async function requireKeyProjectPermission(
  accounts: AccountDeps,
  caller: ProjectCaller,
  projectId: string,
  permission: ProjectPermission,
): Promise<void> {
  if (caller.member.role === 'owner') return;
  const given = await accounts.projects.member(caller.tenantId, projectId, caller.userId);
  if (!projectCan(caller.member.role, given?.role, permission)) {
    const role = effectiveProjectRole(caller.member.role, given?.role);
    throw new ApiError(
      'forbidden',
      `Your role in this key's project '${projectId}' (${role ?? 'none'}) may not do this; it takes ${describe(permission)}.`,
    );
  }
}
