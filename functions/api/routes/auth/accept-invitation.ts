import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { MemberSchema, Name, OneTimeToken, Password } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { memberView } from '#api/http/views';
import { acceptInvitation } from '#shared/accounts/team';
import { ApiError } from '#shared/errors';
import { errorResponses, errorsOf } from '../../spec/answers';
import { tokenError } from './answers';

const AcceptRequest = z
  .object({ token: OneTimeToken, password: Password, name: Name.optional() })
  .openapi('AcceptInvitationRequest');

const route = createRoute({
  method: 'post',
  path: '/auth/invitations/accept',
  tags: ['Auth'],
  summary: 'Accept a team invitation: creates your user in the inviting tenant',
  description: 'The address is verified by the emailed token. Log in afterwards with the chosen password.',
  request: { body: { required: true, content: { 'application/json': { schema: AcceptRequest } } } },
  responses: {
    201: {
      description: 'You are a member',
      content: {
        'application/json': {
          schema: z.object({ object: z.literal('member'), tenant_id: z.string(), member: MemberSchema }),
        },
      },
    },
    ...errorResponses('public', [
      ...errorsOf.jsonBody,
      'conflict',
      'email_token_expired',
      'store_unavailable',
    ]),
  },
});

export function registerAcceptInvitation(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const result = await acceptInvitation(c.get('deps').accounts, {
      ...c.req.valid('json'),
      requestId: c.get('requestId'),
    });
    if (result.status === 'email_taken') {
      throw new ApiError('conflict', 'This address already has a Tollgate account.', { param: 'token' });
    }
    if (result.status !== 'accepted') {
      throw tokenError(result.status, 'invitation', 'Ask the person who invited you to invite you again.');
    }
    return c.json(
      { object: 'member' as const, tenant_id: result.member.tenantId, member: memberView(result.member) },
      201,
    );
  });
}
