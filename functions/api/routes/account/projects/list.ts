import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Name, sessionSecurity } from '#api/console/account-schemas';
import {
  checkNested,
  ProjectLimitsInput,
  ProjectSchema,
  projectView,
  toProjectLimits,
} from '#api/console/project-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { newId } from '#shared/ids';
import type { Project } from '#shared/projects/project';
import { effectiveProjectRole } from '#shared/projects/project-rights';
import { projectAudit, tenantLimits } from './shared';

const ProjectList = z
  .object({ object: z.literal('list'), data: z.array(ProjectSchema) })
  .openapi('ProjectList');

const CreateProjectRequest = z
  .object({ name: Name.openapi({ example: 'Search' }), limits: ProjectLimitsInput.optional() })
  .strict()
  .openapi('CreateProjectRequest');

const listRoute = createRoute({
  method: 'get',
  path: '/account/projects',
  tags: ['Projects'],
  summary: "Your tenant's projects: the default project first, then oldest first (archived ones too)",
  description: 'Every member. `your_role` is what you may do in each (docs/projects.md).',
  security: sessionSecurity,
  responses: {
    200: { description: 'The projects', content: { 'application/json': { schema: ProjectList } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

const createProjectRoute = createRoute({
  method: 'post',
  path: '/account/projects',
  tags: ['Projects'],
  summary: 'Create a project (tenant owners), optionally with its limits and monthly budget',
  description:
    "A project's limits nest inside the tenant's: a budget above the account's spend cap, or a rate above the account's, is a 400 naming the field.",
  security: sessionSecurity,
  middleware: [requirePermission('projects:manage')] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: CreateProjectRequest,
          example: { name: 'Search', limits: { requests_per_minute: 60, monthly_budget_usd: 50 } },
        },
      },
    },
  },
  responses: {
    201: { description: 'The project', content: { 'application/json': { schema: ProjectSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody]),
  },
});

export function registerProjectList(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(listRoute, async (c) => {
    const session = userSession(c);
    const { accounts } = c.get('deps');
    const [projects, roles] = await Promise.all([
      accounts.projects.list(session.tenantId, { defaultCreatedAt: session.tenant.createdAt }),
      session.member.role === 'owner'
        ? new Map()
        : accounts.projects.rolesOf(session.tenantId, session.userId),
    ]);
    return c.json(
      {
        object: 'list' as const,
        data: projects.map((p) => projectView(p, effectiveProjectRole(session.member.role, roles.get(p.id)))),
      },
      200,
    );
  });

  app.openapi(createProjectRoute, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const { accounts, now: clock } = c.get('deps');
    const limits = toProjectLimits(body.limits);
    checkNested(limits, await tenantLimits(c), 'limits.');
    const now = clock();
    const project: Project = {
      id: newId('proj', now.getTime()),
      tenantId: session.tenantId,
      name: body.name,
      createdAt: now.toISOString(),
      limits,
    };
    const audit = projectAudit(c, {
      action: 'project.create',
      target: { type: 'project', id: project.id, name: project.name },
      before: null,
      after: { name: project.name, limits: project.limits },
    });
    if (!(await accounts.projects.create(project, [accounts.audit.putItem(audit)]))) {
      // A time-ordered id with 80 random bits: taken only by a retry of this very write.
      throw new Error('project id collision');
    }
    return c.json(projectView(project, 'owner'), 201);
  });
}
