import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerArchiveProject } from './archive';
import { registerProjectList } from './list';
import { registerProjectMembers } from './members';
import { registerProject } from './project';

/** `/account/projects`: a tenant's projects, their limits and budgets, and members' project roles. */
export function registerProjects(app: OpenAPIHono<ConsoleEnv>): void {
  registerProjectList(app);
  registerProject(app);
  registerArchiveProject(app);
  registerProjectMembers(app);
}
