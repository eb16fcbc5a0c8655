import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Email, InvitationSchema, Role, sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { invitationView } from '#api/http/views';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { invite, memberActor, revokeInvitation } from '#shared/accounts/team';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { emailUnavailable, rateLimitedError } from '../../auth/answers';

const InviteRequest = z.object({ email: Email, role: Role }).openapi('InviteRequest');

const inviteRoute = createRoute({
  method: 'post',
  path: '/account/team/invitations',
  tags: ['Team'],
  summary: 'Invite someone by email with a role; the email carries a token valid for 7 days',
  security: sessionSecurity,
  middleware: [requirePermission('team:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: InviteRequest } } } },
  responses: {
    201: { description: 'Invited', content: { 'application/json': { schema: InvitationSchema } } },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'conflict',
      'rate_limited',
      'email_unavailable',
    ]),
  },
});

const InvitationId = z.object({
  invitation_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'invitation_id', in: 'path' } }),
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/account/team/invitations/{invitation_id}',
  tags: ['Team'],
  summary: 'Withdraw an invitation; its token stops working',
  security: sessionSecurity,
  middleware: [requirePermission('team:manage')] as const,
  request: { params: InvitationId },
  responses: {
    200: {
      description: 'Withdrawn',
      content: {
        'application/json': {
          schema: z.object({ id: z.string(), object: z.literal('invitation'), deleted: z.literal(true) }),
        },
      },
    },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerInvite(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(inviteRoute, async (c) => {
    const { email, role } = c.req.valid('json');
    const session = userSession(c);
    const { accounts, now } = c.get('deps');
    const result = await invite(accounts, {
      inviter: session.member,
      email,
      role,
      requestId: c.get('requestId'),
    }).catch(emailUnavailable);
    if (result.status === 'email_taken') {
      throw new ApiError(
        'conflict',
        'This address already has a Tollgate account; an address belongs to one account.',
        {
          param: 'email',
        },
      );
    }
    if (result.status === 'rate_limited')
      throw rateLimitedError(result.retryAfterSeconds, 'emails to this address');
    return c.json(invitationView(result.invitation, now()), 201);
  });

  app.openapi(revokeRoute, async (c) => {
    const { invitation_id: id } = c.req.valid('param');
    const { tenantId, member } = userSession(c);
    const by = { actor: memberActor(member), requestId: c.get('requestId') };
    if (!isId(id, 'inv') || !(await revokeInvitation(c.get('deps').accounts, tenantId, id, by))) {
      throw new ApiError('not_found', `No pending invitation '${id}' in your account.`, {
        param: 'invitation_id',
      });
    }
    return c.json({ id, object: 'invitation' as const, deleted: true as const }, 200);
  });
}
