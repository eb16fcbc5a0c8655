import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvitationSchema, MemberSchema, sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { invitationView, memberView } from '#api/http/views';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const TeamResponse = z
  .object({
    object: z.literal('team'),
    members: z.array(MemberSchema),
    invitations: z.array(InvitationSchema),
  })
  .openapi('Team');

const route = createRoute({
  method: 'get',
  path: '/account/team',
  tags: ['Team'],
  summary: 'Members of your tenant and pending invitations',
  security: sessionSecurity,
  middleware: [requirePermission('team:read')] as const,
  responses: {
    200: { description: 'The team', content: { 'application/json': { schema: TeamResponse } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerListTeam(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { tenantId } = userSession(c);
    const { accounts, now } = c.get('deps');
    const [members, invitations] = await Promise.all([
      accounts.users.listMembers(tenantId),
      accounts.invitations.list(tenantId),
    ]);
    const at = now();
    return c.json(
      {
        object: 'team' as const,
        members: members.map(memberView),
        invitations: invitations.map((i) => invitationView(i, at)),
      },
      200,
    );
  });
}
