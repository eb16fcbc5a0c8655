import { describe, expect, it } from 'vitest';
import { tenantRoles } from '../../shared/accounts/roles';
import { projectRoles } from '../../shared/projects/project';
import {
  effectiveProjectRole,
  fallbackMatchesTenant,
  type ProjectPermission,
  projectCan,
  projectPermissionRoles,
} from '../../shared/projects/project-rights';

const permissions = Object.keys(projectPermissionRoles) as ProjectPermission[];

describe('project rights', () => {
  it('a tenant owner is an owner of every project, whatever role they were given there', () => {
    for (const given of [undefined, ...projectRoles])
      expect(effectiveProjectRole('owner', given)).toBe('owner');
  });

  it('a project role replaces the tenant role inside its project, up or down', () => {
    expect(effectiveProjectRole('developer', 'viewer')).toBe('viewer');
    expect(effectiveProjectRole('viewer', 'owner')).toBe('owner');
    expect(effectiveProjectRole('billing', 'developer')).toBe('developer');
    expect(projectCan('developer', 'viewer', 'keys:manage')).toBe(false);
    expect(projectCan('viewer', 'developer', 'keys:manage')).toBe(true);
    expect(projectCan('viewer', 'owner', 'project:manage')).toBe(true);
  });

  it('without a project role, each tenant role keeps exactly the rights it has tenant-wide', () => {
    for (const role of tenantRoles) {
      for (const permission of permissions)
        expect(fallbackMatchesTenant(role, permission), `${role} ${permission}`).toBe(true);
    }
    expect(effectiveProjectRole('billing', undefined)).toBeNull();
    expect(projectCan('billing', undefined, 'keys:read')).toBe(false);
  });

  it('a viewer reads keys and nothing more', () => {
    expect(permissions.filter((p) => projectCan('viewer', 'viewer', p))).toEqual(['keys:read']);
  });
});
