import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Name, sessionSecurity } from '#api/console/account-schemas';
import { projectFor } from '#api/console/project-access';
import {
  checkNested,
  ProjectId,
  ProjectLimitsInput,
  ProjectSchema,
  projectView,
  toProjectLimits,
} from '#api/console/project-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import type { Project } from '#shared/projects/project';
import type { ProjectChangeRefusal } from '#shared/projects/project-store';
import { projectAudit, tenantLimits } from './shared';

const UpdateProjectRequest = z
  .object({
    name: Name.optional(),
    limits: ProjectLimitsInput.nullable().optional().openapi({
      description: "The project's limits, all of them (null: none). Absent: unchanged.",
    }),
  })
  .strict()
  .openapi('UpdateProjectRequest');

const getRoute = createRoute({
  method: 'get',
  path: '/account/projects/{project_id}',
  tags: ['Projects'],
  summary: 'One project, with its limits and your role in it',
  description: "Every member. Another tenant's project, or an unknown id: 404.",
  security: sessionSecurity,
  request: { params: ProjectId },
  responses: {
    200: { description: 'The project', content: { 'application/json': { schema: ProjectSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'not_found']),
  },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/account/projects/{project_id}',
  tags: ['Projects'],
  summary: "Rename a project or set its limits and monthly budget (the project's owners)",
  description:
    "A project's limits nest inside the tenant's: a budget above the account's spend cap, or a rate above the account's, is a 400 naming the field. An archived project takes no change (409).",
  security: sessionSecurity,
  request: {
    params: ProjectId,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: UpdateProjectRequest,
          example: {
            limits: { tokens_per_minute: 20000, monthly_budget_usd: 25, budget_mode: 'alert_only' },
          },
        },
      },
    },
  },
  responses: {
    200: { description: 'The project', content: { 'application/json': { schema: ProjectSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function archivedConflict(project: Pick<Project, 'name'>): ApiError {
  return new ApiError('conflict', `Project '${project.name}' is archived: it takes no change.`, {
    param: 'project_id',
  });
}

export function registerProject(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(getRoute, async (c) => {
    const { project_id: projectId } = c.req.valid('param');
    const { project, role } = await projectFor(c.get('deps').accounts, userSession(c), projectId);
    return c.json(projectView(project, role), 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { project_id: projectId } = c.req.valid('param');
    const body = c.req.valid('json');
    const session = userSession(c);
    const { accounts } = c.get('deps');
    const { project, role } = await projectFor(accounts, session, projectId, 'project:manage');
    if (project.archivedAt) throw archivedConflict(project);
    if (body.name === undefined && body.limits === undefined) {
      throw new ApiError('invalid_request', 'Give `name`, `limits` or both.', { param: 'name' });
    }
    const limits = body.limits === undefined ? undefined : toProjectLimits(body.limits);
    if (limits) checkNested(limits, await tenantLimits(c), 'limits.');
    const opts = { defaultCreatedAt: session.tenant.createdAt };
    let result: Project | ProjectChangeRefusal = project;
    // A rename and a limits change are two audited changes (each in its own transaction).
    if (body.name !== undefined && body.name !== project.name) {
      const audit = projectAudit(c, {
        action: 'project.rename',
        target: { type: 'project', id: project.id, name: body.name },
        before: { name: project.name },
        after: { name: body.name },
      });
      result = await accounts.projects.rename(session.tenantId, projectId, body.name, {
        ...opts,
        extra: [accounts.audit.putItem(audit)],
      });
    }
    if (typeof result !== 'string' && limits !== undefined) {
      const audit = projectAudit(c, {
        action: 'project.limits',
        target: { type: 'project', id: project.id, name: result.name },
        before: { limits: project.limits },
        after: { limits },
      });
      result = await accounts.projects.setLimits(session.tenantId, projectId, limits, {
        ...opts,
        extra: [accounts.audit.putItem(audit)],
      });
    }
    if (result === 'archived') throw archivedConflict(project);
    if (result === 'not_found') {
      throw new ApiError('not_found', `No project '${projectId}' in your account.`, { param: 'project_id' });
    }
    // The hot path's cached project (its limits, the name its refusals give) is dropped here, so
    // the change bites at once on this instance (elsewhere within AUTH_CACHE_TTL_MS).
    c.get('deps').projectLimits.forget(session.tenantId, projectId);
    return c.json(projectView(result, role), 200);
  });
}
