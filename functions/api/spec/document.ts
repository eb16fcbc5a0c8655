import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env';
import { errorDocs, errorExample, errorExampleName } from './error-examples';
import { headerDocs } from './headers';

/** The OpenAPI document /openapi.json serves, as the generator returns it. */
export type ApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

const DESCRIPTION = `Metered model inference behind API keys, and the console's account API.

## Authentication
- **\`/v1\`** takes an API key: \`Authorization: Bearer tg_live_...\` (security scheme \`apiKey\`). Create keys in the console or with \`POST /account/keys\`; the secret is shown once. A key with scopes may do only those: \`models:invoke\` (every model route and the model list) and \`usage:read\` (\`GET /v1/usage\`). The official OpenAI SDKs work as they are: set \`baseURL\` to this server's \`/v1\` and \`apiKey\` to the key.
- **\`/account\` and \`/admin\`** take a console session, never an API key: \`POST /auth/login\` answers an access token to send as \`Authorization: Bearer <access_token>\` (scheme \`session\`), and sets it as the \`tg_session\` cookie for browsers (scheme \`sessionCookie\`; cookie-authenticated writes must come from the console's own origin). The access token lasts minutes: trade the refresh token at \`POST /auth/refresh\`. \`/admin\` is for platform operators only.
- **\`/auth\`** (but \`POST /auth/logout\`, which takes the session), \`/.well-known/jwks.json\` and this document need nothing; \`POST /webhooks/stripe\` is authenticated by its \`Stripe-Signature\`.

## Errors
Every error answer is the OpenAI envelope \`{"error":{"message","type","code","param","request_id"}}\`. \`code\` is one of a closed set: each response below lists the codes it can carry, each with an example. \`param\` names the field at fault, or is null.

## Headers
Every answer carries \`x-request-id\`. \`/v1\` answers also carry \`x-ratelimit-*\` (the per-minute limits), and the model routes \`x-model-version\` (the version that served the request) with \`Deprecation\` and \`Sunset\` when that version is deprecated. Refusals worth retrying carry \`Retry-After\`; the limits' refusals (429) and a busy store (503) also carry \`x-should-retry\`, \`false\` when waiting will not help (the month's included units, the spend cap). A POST to \`/v1\` with an \`Idempotency-Key\` is served once: a retry with the same key and body gets the first answer back (\`idempotent-replayed: true\`) and is not billed again.`;

const TAGS = [
  { name: 'Text', description: 'Text models, billed per input token.' },
  { name: 'Chat', description: 'OpenAI-compatible chat completions, streamed or not.' },
  { name: 'Images', description: 'Vision models, billed per image.' },
  { name: 'Models', description: 'The models and versions your key may call, with their prices.' },
  {
    name: 'Batch',
    description:
      "OpenAI's Files and Batches APIs: a file of requests run within 24 hours at the batch price (half the online price by default).",
  },
  { name: 'Usage', description: 'What was used and what it cost.' },
  {
    name: 'Request log',
    description: 'Any call of the last 30 days by its request id, and refused calls counted per minute.',
  },
  { name: 'Auth', description: 'Sign-up, login and sessions for the console.' },
  { name: 'Account', description: "Your tenant, your profile and your tenant's model pins." },
  { name: 'API keys', description: 'Create, rotate, limit and revoke API keys.' },
  { name: 'Team', description: 'Members and invitations.' },
  { name: 'Projects', description: "A tenant's projects: their keys, members' roles, limits and budgets." },
  { name: 'Limits', description: 'Plan limits, the spend cap and usage alerts.' },
  {
    name: 'Audit',
    description: "Your tenant's audit trail: who changed keys, members, limits and money settings.",
  },
  { name: 'Billing', description: 'Stripe billing: plan, running cost, invoices.' },
  { name: 'Admin', description: "The platform operators' API." },
];

/** Everything routes refer to by `$ref`: security schemes, headers, the Idempotency-Key, error examples. */
function registerComponents(doc: OpenAPIHono<AppEnv>): void {
  const registry = doc.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key, for `/v1`: `Authorization: Bearer tg_live_...`. Missing: 401 `missing_api_key`; malformed, unknown, revoked or expired: 401 `invalid_api_key`; its tenant not active: 403 `tenant_inactive`; a scope it lacks: 403 `forbidden`. Many invalid keys from one address: 429 `rate_limited`.',
  });
  registry.registerComponent('securitySchemes', 'session', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A session access token (ES256 JWT) from POST /auth/login or POST /auth/refresh: `Authorization: Bearer eyJ...`. Missing: 401 `missing_credentials`; expired: 401 `token_expired` (refresh it); invalid, ended or an API key: 401 `invalid_token`.',
  });
  registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'tg_session',
    description:
      'The session cookie POST /auth/login sets (HttpOnly, SameSite=Strict), for browsers. A write (POST, PUT, PATCH, DELETE) must carry an `Origin` or `Referer` of an allowed origin, else 403 `forbidden`.',
  });
  registry.registerComponent('parameters', 'Idempotency-Key', {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
    example: 'retry-7d3f2a9c',
  });
  for (const [name, header] of Object.entries(headerDocs)) {
    registry.registerComponent('headers', name, header);
  }
  for (const code of Object.keys(errorDocs) as (keyof typeof errorDocs)[]) {
    registry.registerComponent('examples', errorExampleName(code), {
      summary: `\`${code}\``,
      value: errorExample(code),
    });
  }
}

/**
 * What the common middleware of every plane (plane-app.ts) does to every answer, said once for
 * every response: `requestContext` sets `x-request-id` on all of them.
 */
function addCommonHeaders(document: ApiDocument): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const op of Object.values(item as Record<string, { responses?: Record<string, unknown> }>)) {
      for (const response of Object.values(op.responses ?? {}) as { headers?: Record<string, unknown> }[]) {
        response.headers = {
          'x-request-id': { $ref: '#/components/headers/x-request-id' },
          ...response.headers,
        };
      }
    }
  }
}

/**
 * The whole API described: `describe` mounts the routes on a document-only app (never served).
 * `publicUrl` is where this deployment answers (PUBLIC_URL), the document's one server.
 */
export function buildApiDocument(
  describe: (doc: OpenAPIHono<AppEnv>) => void,
  opts: { publicUrl: string },
): ApiDocument {
  const doc = new OpenAPIHono<AppEnv>();
  registerComponents(doc);
  describe(doc);
  const document = doc.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'Tollgate API', version: '1', description: DESCRIPTION },
    servers: [{ url: opts.publicUrl, description: 'This deployment (PUBLIC_URL)' }],
    tags: TAGS,
  });
  addCommonHeaders(document);
  return document;
}
