/**
 * Projects inside a tenant. Every tenant has a default project, `proj_default`, that exists
 * without an item: it holds every key made before projects existed (a key with no `projectId`),
 * so nothing was migrated and no key in use changed.
 */
export const DEFAULT_PROJECT_ID = 'proj_default';

/** Roles inside one project, next to the tenant-wide roles. */
export const projectRoles = ['owner', 'developer', 'viewer'] as const;
export type ProjectRole = (typeof projectRoles)[number];

/** A project's own limits, nested inside the tenant's (a project may narrow, never widen). */
export interface ProjectLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** The project's monthly budget in nano-USD (at most the tenant's spend cap, when it has one). */
  budgetNanoUsd?: number;
  /** Absent: `hard_stop`. `alert_only`: never refused, only alerts. */
  budgetMode?: 'hard_stop' | 'alert_only';
}

export interface Project {
  id: string;
  tenantId: string;
  name: string;
  createdAt: string;
  limits: ProjectLimits | null;
  /** Archived projects keep their keys' history; their keys are revoked when archived. */
  archivedAt?: string | null;
}

/** The project a key belongs to: a key from before projects is in the default project. */
export function projectIdOf(key: { projectId?: string | null }): string {
  return key.projectId ?? DEFAULT_PROJECT_ID;
}
