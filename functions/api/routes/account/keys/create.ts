import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Name, sessionSecurity } from '#api/console/account-schemas';
import { keyAuditFields, keyTarget, memberAuditItem } from '#api/console/member-audit';
import { projectFor } from '#api/console/project-access';
import type { ConsoleEnv } from '#api/http/env';
import { apiKeyView } from '#api/http/views';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { issueApiKey } from '#shared/auth/issue-api-key';
import { ApiError } from '#shared/errors';
import { DEFAULT_PROJECT_ID } from '#shared/projects/project';
import { tenantMayCall } from '#shared/tenants/tenant-store';
import {
  ApiKeyWithSecret,
  FutureTime,
  KeyLimitsInput,
  KeyScopeInput,
  Scopes,
  toLimits,
  toScope,
} from './schemas';

const CreateKeyRequest = z
  .object({
    name: Name.openapi({ example: 'production' }),
    scopes: Scopes.optional(),
    expires_at: FutureTime.optional(),
    limits: KeyLimitsInput.optional(),
    project_id: z.string().max(64).optional().openapi({
      description:
        'The project the key belongs to, for good (default `proj_default`). Unknown or another tenant’s: 404.',
      example: 'proj_default',
    }),
    scope: KeyScopeInput.optional(),
  })
  .openapi('CreateKeyRequest');

/** A production key that may only call models, at 60 requests a minute. */
const example = {
  request: {
    name: 'production',
    scopes: ['models:invoke'],
    limits: { requests_per_minute: 60 },
    scope: {
      models: ['chat@tiny-1', 'sentiment'],
      endpoints: ['chat', 'text'],
      ip_allowlist: ['203.0.113.0/24'],
    },
  },
  response: {
    id: 'key_01M97D1FGKSHVR7Y2D2M4CYTB3',
    object: 'api_key',
    name: 'production',
    prefix: 'tg_live_eIAbkw',
    status: 'active',
    scopes: ['models:invoke'],
    limits: { requests_per_minute: 60 },
    created_at: '2026-11-02T09:14:05.120Z',
    created_by: 'usr_01M97D1FGKT5YEAA16KHV1Z6B3',
    last_used_at: null,
    expires_at: null,
    rotated_to: null,
    project_id: 'proj_default',
    scope: {
      models: ['chat@tiny-1', 'sentiment'],
      endpoints: ['chat', 'text'],
      read_only: false,
      ip_allowlist: ['203.0.113.0/24'],
    },
    secret: 'tg_live_eIAbkwcRnkk6OXrNfAe5OZUTb3MTwwj9dxJnzhFhemm',
  },
} as const satisfies {
  request: z.input<typeof CreateKeyRequest>;
  response: z.infer<typeof ApiKeyWithSecret>;
};

const route = createRoute({
  method: 'post',
  path: '/account/keys',
  tags: ['API keys'],
  summary: 'Create an API key; the secret is in this answer and nowhere else, ever',
  security: sessionSecurity,
  description:
    'Owners and developers of the key’s project (docs/projects.md): a project viewer gets 403. An archived project takes no new key (409). ' +
    '`scope` restricts the key to some models or versions, endpoints, read-only use and IP ranges (each checked: an unknown model or version, an alias, an invalid CIDR range is a 400 naming it); `expires_at` ends it. A call outside its scope is 403 with a code naming the scope, and is not billed.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: CreateKeyRequest, example: example.request } },
    },
  },
  responses: {
    201: {
      description: 'The key, with its secret',
      content: { 'application/json': { schema: ApiKeyWithSecret, example: example.response } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'tenant_inactive',
      'not_found',
      'conflict',
    ]),
  },
});

export function registerCreateKey(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const deps = c.get('deps');
    const now = deps.now();
    const { project, role } = await projectFor(
      deps.accounts,
      session,
      body.project_id ?? DEFAULT_PROJECT_ID,
      'keys:manage',
      { param: 'project_id' },
    );
    if (project.archivedAt) {
      throw new ApiError('conflict', `Project '${project.name}' is archived: it takes no new key.`, {
        param: 'project_id',
      });
    }
    if (body.limits && role !== 'owner') {
      throw new ApiError(
        'forbidden',
        `Your role (${role}) may not set limits; an owner of the project can.`,
        {
          param: 'limits',
        },
      );
    }
    if (body.expires_at && Date.parse(body.expires_at) <= now.getTime()) {
      throw new ApiError('invalid_request', "'expires_at' must be in the future.", { param: 'expires_at' });
    }
    if (!tenantMayCall(session.tenant.status)) {
      throw new ApiError(
        'tenant_inactive',
        `This account is ${session.tenant.status.replace('_', ' ')}; new keys cannot be made.`,
      );
    }
    const scope = body.scope ? toScope(body.scope, await deps.resolver.catalog()) : null;
    const { key, secret } = await issueApiKey(
      deps.accounts.apiKeys,
      {
        tenantId: session.tenantId,
        name: body.name,
        scopes: body.scopes ?? [],
        expiresAt: body.expires_at ? new Date(body.expires_at).toISOString() : null,
        limits: await toLimits(body.limits, {
          tenantId: session.tenantId,
          listMembers: (t) => deps.accounts.users.listMembers(t),
        }),
        createdBy: session.userId,
        projectId: project.id,
        scope,
        now,
      },
      (made) => [
        memberAuditItem(c, {
          action: 'api_key.create',
          target: keyTarget(made),
          before: null,
          after: keyAuditFields(made),
        }),
      ],
    );
    return c.json({ ...apiKeyView(key, now), secret }, 201);
  });
}
