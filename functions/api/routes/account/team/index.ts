import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerInvite } from './invite';
import { registerListTeam } from './list';
import { registerMembers } from './members';

/** `/account/team`: members, invitations, roles. */
export function registerTeam(app: OpenAPIHono<ConsoleEnv>): void {
  registerListTeam(app);
  registerInvite(app);
  registerMembers(app);
}
