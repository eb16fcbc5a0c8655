import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '#api/http/env';
import { registerInvite } from './invite';
import { registerListTeam } from './list';
import { registerMembers } from './members';

/** `/account/team`: members, invitations, roles. */
export function registerTeam(app: OpenAPIHono<AppEnv>): void {
  registerListTeam(app);
  registerInvite(app);
  registerMembers(app);
}
