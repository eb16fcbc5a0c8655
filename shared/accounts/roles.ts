/**
 * Roles inside a tenant. `operator` is deliberately not one of them: operators are a separate kind
 * of account (outside every tenant), so no tenant route can grant it.
 */
export const tenantRoles = ['owner', 'developer', 'billing', 'viewer'] as const;
export type TenantRole = (typeof tenantRoles)[number];

/** What a role may do. Reading the account and its team is open to every member. */
export const permissionRoles = {
  /** See keys (never their secrets). */
  'keys:read': ['owner', 'developer', 'viewer'],
  /** Create, revoke and rotate keys. */
  'keys:manage': ['owner', 'developer'],
  /** See plan, usage cost and invoices. */
  'billing:read': ['owner', 'billing'],
  /** Add a card (Checkout), open the customer portal. */
  'billing:manage': ['owner', 'billing'],
  /** Pin model versions for the tenant (`/account/models/pins`). */
  'models:manage': ['owner', 'developer'],
  /** See the tenant's batch jobs and download their output and error files. */
  'batches:read': ['owner', 'developer', 'viewer'],
  /** Upload and create batch jobs (billed to one of the tenant's keys), cancel them. */
  'batches:manage': ['owner', 'developer'],
  /** Set per-key limits (rate limits and a key's own spend cap). */
  'limits:manage': ['owner'],
  /** Set the tenant's monthly spend cap: money, so billing may too. */
  'spend_cap:manage': ['owner', 'billing'],
  /**
   * Look up calls in the request log (`/account/requests`) and see refusal counts. Every member:
   * a call's cost is shown only to roles with `billing:read`.
   */
  'requests:read': ['owner', 'developer', 'billing', 'viewer'],
  'team:read': ['owner', 'developer', 'billing', 'viewer'],
  /** Invite, change roles, remove members. */
  'team:manage': ['owner'],
  /** Create and archive projects (a project's own owners manage the rest of it: shared/projects/project-rights.ts). */
  'projects:manage': ['owner'],
  /** Rename the tenant, change its contact address. */
  'account:manage': ['owner', 'billing'],
  /** Read the tenant's audit trail (`/account/audit`): who changed keys, members, limits and money settings. */
  'audit:read': ['owner'],
} as const satisfies Record<string, readonly TenantRole[]>;

export type Permission = keyof typeof permissionRoles;

export function can(role: TenantRole, permission: Permission): boolean {
  return (permissionRoles[permission] as readonly TenantRole[]).includes(role);
}

export function permissionsOf(role: TenantRole): Permission[] {
  return (Object.keys(permissionRoles) as Permission[]).filter((p) => can(role, p));
}

export function isTenantRole(value: unknown): value is TenantRole {
  return typeof value === 'string' && (tenantRoles as readonly string[]).includes(value);
}
