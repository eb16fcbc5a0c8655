import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  ApiKeySchema,
  InvitationSchema,
  MemberSchema,
  sessionSecurity,
  TenantSchema,
} from '#api/console/account-schemas';
import { ProjectSchema, projectView } from '#api/console/project-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { apiKeyView, invitationView, memberView, tenantView } from '#api/http/views';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { tenantDetail } from '#shared/accounts/admin-tenants';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';

export const TenantId = z.object({
  tenant_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'tenant_id', in: 'path' } }),
});

const Detail = z
  .object({
    object: z.literal('tenant_detail'),
    tenant: TenantSchema,
    members: z.array(MemberSchema),
    keys: z.array(ApiKeySchema),
    invitations: z.array(InvitationSchema),
    projects: z.array(ProjectSchema).openapi({
      description: 'Its projects, the default one first (`your_role` is null: operators have none).',
    }),
  })
  .openapi('TenantDetail');

const route = createRoute({
  method: 'get',
  path: '/admin/tenants/{tenant_id}',
  tags: ['Admin'],
  summary: 'One tenant with its members, keys (never secrets), invitations and projects',
  security: sessionSecurity,
  request: { params: TenantId },
  responses: {
    200: { description: 'The tenant', content: { 'application/json': { schema: Detail } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function tenantNotFound(id: string): ApiError {
  return new ApiError('not_found', `No tenant '${id}'.`, { param: 'tenant_id' });
}

export function registerGetTenant(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { tenant_id: id } = c.req.valid('param');
    const { accounts, now } = c.get('deps');
    const detail = isId(id, 'ten') ? await tenantDetail(accounts, id) : undefined;
    if (!detail) throw tenantNotFound(id);
    const at = now();
    return c.json(
      {
        object: 'tenant_detail' as const,
        tenant: tenantView(detail.tenant),
        members: detail.members.map(memberView),
        keys: detail.keys.map((k) => apiKeyView(k, at)),
        invitations: detail.invitations.map((i) => invitationView(i, at)),
        projects: detail.projects.map((p) => projectView(p, null)),
      },
      200,
    );
  });
}
