import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Role, sessionSecurity, TenantSchema } from '#api/console/account-schemas';
import type { ConsoleEnv, SessionContext } from '#api/http/env';
import { tenantView } from '#api/http/views';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { permissionsOf } from '#shared/accounts/roles';

export const AccountResponse = z
  .object({
    object: z.literal('account'),
    tenant: TenantSchema,
    user: z.object({ id: z.string(), email: z.string(), name: z.string().nullable(), role: Role }),
    permissions: z.array(z.string()).openapi({ description: 'What your role may do, e.g. `keys:manage`.' }),
  })
  .openapi('Account');

export function accountView(s: Extract<SessionContext, { kind: 'user' }>) {
  return {
    object: 'account' as const,
    tenant: tenantView(s.tenant),
    user: { id: s.userId, email: s.member.email, name: s.member.name, role: s.member.role },
    permissions: permissionsOf(s.member.role),
  };
}

const route = createRoute({
  method: 'get',
  path: '/account',
  tags: ['Account'],
  summary: 'Your tenant (plan, status), you, and your role',
  security: sessionSecurity,
  responses: {
    200: { description: 'The account', content: { 'application/json': { schema: AccountResponse } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerGetAccount(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, (c) => c.json(accountView(userSession(c)), 200));
}
