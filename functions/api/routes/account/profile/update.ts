import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Email, Name, sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { normalizeEmail } from '#shared/accounts/email-address';
import { can } from '#shared/accounts/roles';
import { ApiError } from '#shared/errors';
import { AccountResponse, accountView } from './get';

const UpdateRequest = z
  .object({
    name: Name.optional().openapi({ description: 'Your own name.' }),
    company: Name.optional().openapi({ description: "The tenant's name (owner or billing)." }),
    contact_email: Email.optional().openapi({ description: 'Where account notices go (owner or billing).' }),
  })
  .strict()
  .openapi('UpdateAccountRequest');

const route = createRoute({
  method: 'patch',
  path: '/account',
  tags: ['Account'],
  summary: "Change your name, or the tenant's name and contact address",
  security: sessionSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: UpdateRequest } } } },
  responses: {
    200: { description: 'The account', content: { 'application/json': { schema: AccountResponse } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody]),
  },
});

export function registerUpdateAccount(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const { accounts } = c.get('deps');
    // Checked before anything is written, so a refused request changes nothing.
    for (const field of ['company', 'contact_email'] as const) {
      if (body[field] !== undefined && !can(session.member.role, 'account:manage')) {
        throw new ApiError('forbidden', `Your role (${session.member.role}) may not change '${field}'.`, {
          param: field,
        });
      }
    }
    if (body.name !== undefined)
      await accounts.users.setMemberName(session.tenantId, session.userId, body.name);
    if (body.company !== undefined || body.contact_email !== undefined) {
      await accounts.tenants.updateProfile(session.tenantId, {
        name: body.company,
        contactEmail: body.contact_email !== undefined ? normalizeEmail(body.contact_email) : undefined,
      });
    }
    const [member, tenant] = await Promise.all([
      accounts.users.getMember(session.tenantId, session.userId),
      accounts.tenants.get(session.tenantId),
    ]);
    return c.json(
      accountView({ ...session, member: member ?? session.member, tenant: tenant ?? session.tenant }),
      200,
    );
  });
}
