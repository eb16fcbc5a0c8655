import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { sessionSecurity } from '#api/console/account-schemas';
import { projectFor } from '#api/console/project-access';
import { ProjectId, ProjectSchema, projectView } from '#api/console/project-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { DEFAULT_PROJECT_ID, type Project } from '#shared/projects/project';
import { projectAudit } from './shared';

const route = createRoute({
  method: 'post',
  path: '/account/projects/{project_id}/archive',
  tags: ['Projects'],
  summary: 'Archive a project (tenant owners): its keys are revoked, its history and usage stay',
  description:
    'An archived project takes no new key and no change. Archiving an archived project again revokes any key of it still active (a retry finishes the job) and is otherwise a no-op. ' +
    'The default project is never archived (400): it holds every key made without a project.',
  security: sessionSecurity,
  middleware: [requirePermission('projects:manage')] as const,
  request: { params: ProjectId },
  responses: {
    200: { description: 'The archived project', content: { 'application/json': { schema: ProjectSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerArchiveProject(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { project_id: projectId } = c.req.valid('param');
    const session = userSession(c);
    const { accounts, now } = c.get('deps');
    const { project } = await projectFor(accounts, session, projectId);
    if (projectId === DEFAULT_PROJECT_ID) {
      throw new ApiError(
        'invalid_request',
        'The default project holds every key made without a project: it cannot be archived.',
        {
          param: 'project_id',
        },
      );
    }
    let archived: Project = project;
    if (!project.archivedAt) {
      const at = now().toISOString();
      const audit = projectAudit(c, {
        action: 'project.archive',
        target: { type: 'project', id: project.id, name: project.name },
        before: { archivedAt: null },
        after: { archivedAt: at },
      });
      const result = await accounts.projects.archive(session.tenantId, projectId, at, {
        extra: [accounts.audit.putItem(audit)],
      });
      if (result === 'not_found') {
        throw new ApiError('not_found', `No project '${projectId}' in your account.`, {
          param: 'project_id',
        });
      }
      // 'archived': another request archived it meanwhile; the keys are revoked below all the same.
      archived =
        typeof result === 'string'
          ? ((await accounts.projects.get(session.tenantId, projectId)) ?? project)
          : result;
    }
    // After the archive, so no key made meanwhile escapes: key creation refuses an archived project.
    await revokeProjectKeys(c, projectId);
    return c.json(projectView(archived, 'owner'), 200);
  });
}

async function revokeProjectKeys(c: Context<ConsoleEnv>, projectId: string): Promise<void> {
  const session = userSession(c);
  const { accounts } = c.get('deps');
  let cursor: string | undefined;
  do {
    const page = await accounts.apiKeys.list(session.tenantId, { limit: 100, cursor, projectId });
    if (page === 'bad_cursor') break;
    for (const key of page.keys) {
      if (key.status !== 'active') continue;
      const hash = await accounts.apiKeys.hashOf(session.tenantId, key.id);
      if (hash && (await accounts.apiKeys.revoke(session.tenantId, key.id)))
        accounts.authenticator.forgetKey(hash);
    }
    cursor = page.cursor ?? undefined;
  } while (cursor);
}
