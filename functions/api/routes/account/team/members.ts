import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { MemberSchema, Role, sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { memberView } from '#api/http/views';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { changeRole, memberActor, removeMember } from '#shared/accounts/team';
import type { RoleChange } from '#shared/accounts/user-store';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';

const UserId = z.object({
  user_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'user_id', in: 'path' } }),
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/account/team/members/{user_id}',
  tags: ['Team'],
  summary: "Change a member's role (the last owner keeps theirs)",
  security: sessionSecurity,
  middleware: [requirePermission('team:manage')] as const,
  request: {
    params: UserId,
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ role: Role }).openapi('RoleChange') } },
    },
  },
  responses: {
    200: { description: 'The member', content: { 'application/json': { schema: MemberSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/account/team/members/{user_id}',
  tags: ['Team'],
  summary: 'Remove a member: their user and sessions end at once (the tenant’s API keys stay)',
  security: sessionSecurity,
  middleware: [requirePermission('team:manage')] as const,
  request: { params: UserId },
  responses: {
    200: {
      description: 'Removed',
      content: {
        'application/json': {
          schema: z.object({ user_id: z.string(), object: z.literal('member'), deleted: z.literal(true) }),
        },
      },
    },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found', 'conflict']),
  },
});

function refuse(status: Exclude<RoleChange, 'changed'>, userId: string): ApiError {
  if (status === 'not_found')
    return new ApiError('not_found', `No member '${userId}' in your account.`, { param: 'user_id' });
  if (status === 'last_owner') {
    return new ApiError('conflict', 'A tenant must keep at least one owner: make someone else owner first.', {
      param: 'user_id',
    });
  }
  return new ApiError('conflict', 'This member changed meanwhile; read the team again and retry.', {
    param: 'user_id',
  });
}

export function registerMembers(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(updateRoute, async (c) => {
    const { user_id: userId } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const { tenantId, member } = userSession(c);
    if (!isId(userId, 'usr')) throw refuse('not_found', userId);
    const by = { actor: memberActor(member), requestId: c.get('requestId') };
    const result = await changeRole(c.get('deps').accounts, { tenantId, userId, role, by });
    if (result.status !== 'changed' || !result.member)
      throw refuse(result.status === 'changed' ? 'not_found' : result.status, userId);
    return c.json(memberView(result.member), 200);
  });

  app.openapi(removeRoute, async (c) => {
    const { user_id: userId } = c.req.valid('param');
    const { tenantId, member } = userSession(c);
    if (!isId(userId, 'usr')) throw refuse('not_found', userId);
    const by = { actor: memberActor(member), requestId: c.get('requestId') };
    const status = await removeMember(c.get('deps').accounts, tenantId, userId, by);
    if (status !== 'changed') throw refuse(status, userId);
    return c.json({ user_id: userId, object: 'member' as const, deleted: true as const }, 200);
  });
}
