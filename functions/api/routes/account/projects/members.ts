import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { projectFor } from '#api/console/project-access';
import {
  ProjectId,
  ProjectMemberParams,
  ProjectMemberSchema,
  ProjectRoleSchema,
  projectMemberView,
} from '#api/console/project-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { archivedConflict } from './project';
import { projectAudit } from './shared';

const MemberList = z
  .object({ object: z.literal('list'), data: z.array(ProjectMemberSchema) })
  .openapi('ProjectMemberList');

const listRoute = createRoute({
  method: 'get',
  path: '/account/projects/{project_id}/members',
  tags: ['Projects'],
  summary:
    "Every member of the tenant with their role in this project: given here, or carried from the tenant's",
  security: sessionSecurity,
  request: { params: ProjectId },
  responses: {
    200: { description: 'The members', content: { 'application/json': { schema: MemberList } } },
    ...errorResponses('console', [...errorsOf.session, 'not_found']),
  },
});

const setRoute = createRoute({
  method: 'put',
  path: '/account/projects/{project_id}/members/{user_id}',
  tags: ['Projects'],
  summary: "Give a member of the tenant a role in this project (the project's owners)",
  description:
    'The role replaces, in this project only, what their tenant role gives them (tenant owners stay owners everywhere). A user not in your tenant: 404.',
  security: sessionSecurity,
  request: {
    params: ProjectMemberParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({ role: ProjectRoleSchema }).strict().openapi('ProjectRoleChange'),
          example: { role: 'viewer' },
        },
      },
    },
  },
  responses: {
    200: { description: 'The member', content: { 'application/json': { schema: ProjectMemberSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/account/projects/{project_id}/members/{user_id}',
  tags: ['Projects'],
  summary: "Take away a member's role in this project: their tenant role applies here again",
  security: sessionSecurity,
  request: { params: ProjectMemberParams },
  responses: {
    200: { description: 'The member', content: { 'application/json': { schema: ProjectMemberSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'not_found', 'conflict']),
  },
});

const noMember = (userId: string) =>
  new ApiError('not_found', `No member '${userId}' in your account.`, { param: 'user_id' });

export function registerProjectMembers(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(listRoute, async (c) => {
    const { project_id: projectId } = c.req.valid('param');
    const session = userSession(c);
    const { accounts } = c.get('deps');
    const { project } = await projectFor(accounts, session, projectId);
    const [members, given] = await Promise.all([
      accounts.users.listMembers(session.tenantId),
      accounts.projects.members(session.tenantId, project.id),
    ]);
    const byUser = new Map(given.map((m) => [m.userId, m]));
    return c.json(
      {
        object: 'list' as const,
        data: members.map((m) => projectMemberView(project.id, m, byUser.get(m.userId))),
      },
      200,
    );
  });

  app.openapi(setRoute, async (c) => {
    const { project_id: projectId, user_id: userId } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const session = userSession(c);
    const { accounts, now } = c.get('deps');
    const { project } = await projectFor(accounts, session, projectId, 'project:manage');
    if (project.archivedAt) throw archivedConflict(project);
    const member = isId(userId, 'usr') ? await accounts.users.getMember(session.tenantId, userId) : undefined;
    if (!member) throw noMember(userId);
    const before = await accounts.projects.member(session.tenantId, project.id, userId);
    const audit = projectAudit(c, {
      action: 'project.member_role',
      target: { type: 'member', id: userId, name: member.email },
      before: { projectId: project.id, projectName: project.name, role: before?.role ?? null },
      after: { projectId: project.id, projectName: project.name, role },
    });
    const given = {
      tenantId: session.tenantId,
      projectId: project.id,
      userId,
      role,
      email: member.email,
      addedAt: before?.addedAt ?? now().toISOString(),
    };
    await accounts.projects.setMember(given, [accounts.audit.putItem(audit)]);
    return c.json(projectMemberView(project.id, member, given), 200);
  });

  app.openapi(removeRoute, async (c) => {
    const { project_id: projectId, user_id: userId } = c.req.valid('param');
    const session = userSession(c);
    const { accounts } = c.get('deps');
    const { project } = await projectFor(accounts, session, projectId, 'project:manage');
    if (project.archivedAt) throw archivedConflict(project);
    const member = isId(userId, 'usr') ? await accounts.users.getMember(session.tenantId, userId) : undefined;
    if (!member) throw noMember(userId);
    const before = await accounts.projects.member(session.tenantId, project.id, userId);
    if (!before) {
      throw new ApiError('not_found', `'${member.email}' has no role of their own in this project.`, {
        param: 'user_id',
      });
    }
    const audit = projectAudit(c, {
      action: 'project.member_remove',
      target: { type: 'member', id: userId, name: member.email },
      before: { projectId: project.id, projectName: project.name, role: before.role },
      after: { projectId: project.id, projectName: project.name, role: null },
    });
    if (
      !(await accounts.projects.removeMember(session.tenantId, project.id, userId, [
        accounts.audit.putItem(audit),
      ]))
    ) {
      throw new ApiError('not_found', `'${member.email}' has no role of their own in this project.`, {
        param: 'user_id',
      });
    }
    return c.json(projectMemberView(project.id, member, undefined), 200);
  });
}
