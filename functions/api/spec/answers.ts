import type { RouteConfig } from '@hono/zod-openapi';
import { type ErrorCode, errorCodes } from '#shared/errors';
import { ErrorSchema } from '../http/schemas';
import { errorDocs, errorExampleName } from './error-examples';
import { type HeaderName, headerRefs, modelVersionHeaderNames, rateLimitHeaderNames } from './headers';

/**
 * The answers routes document, declared once. A route lists the error codes it can answer with
 * (the groups below, plus its own); `errorResponses` turns them into one response per status, each
 * naming its codes, with the headers those answers carry and an example of each code. The api
 * tests hold every route to its list: test/api-statuses/ fails when a route answers a status its
 * spec does not list.
 */

/** Error codes the routes share, by what a route does. */
export const errorsOf = {
  /**
   * Every `/v1` route: the key, its tenant and its scopes (apiKeyAuth, apiKeyScope), its IP ranges
   * (keyScopeGuard), and the store behind them.
   */
  apiKey: [
    'missing_api_key',
    'invalid_api_key',
    'rate_limited',
    'tenant_inactive',
    'forbidden',
    'ip_not_in_key_allowlist',
    'store_unavailable',
  ],
  /** A `/v1` read of one endpoint (files, batches): the key's endpoint scope (keyScopeGuard). */
  endpointRead: ['endpoint_not_in_key_scope'],
  /** A `/v1` write (inference, an upload, a batch): the key's endpoint and read-only scopes (keyScopeGuard). */
  endpointWrite: ['endpoint_not_in_key_scope', 'key_read_only'],
  /** A `/v1` POST: a JSON body (requireJson), maybe an `Idempotency-Key` (middleware/idempotency.ts). */
  v1Body: [
    'invalid_json',
    'invalid_request',
    'request_too_large',
    'unsupported_media_type',
    'idempotency_in_progress',
    'idempotency_key_reused',
  ],
  /**
   * A model call: the version and the key's model scope (resolveTarget), the limits (reserve), the
   * usage record, the model (invokeModel).
   */
  modelCall: [
    'model_not_in_key_scope',
    'model_not_found',
    'model_version_retired',
    'invalid_request',
    'rate_limit_requests',
    'rate_limit_tokens',
    'concurrency_limit',
    'quota_exceeded',
    'spend_cap_reached',
    'insufficient_balance',
    'model_error',
    'model_unavailable',
    'model_busy',
    'model_loading',
    'model_cold',
    'model_not_installed',
    'model_timeout',
    'store_unavailable',
  ],
  /** An image route's `image` (gateway/image-input.ts): undecodable, a URL it may not fetch, too large. */
  imageInput: ['invalid_image', 'invalid_image_url', 'image_too_large'],
  /** Every session route: sessionAuth, then requireUser, requireOperator or requirePermission. */
  session: ['missing_credentials', 'invalid_token', 'token_expired', 'forbidden', 'store_unavailable'],
  /** A JSON body outside `/v1`: unreadable, invalid, not sent as JSON, or over MAX_BODY_BYTES. */
  jsonBody: ['invalid_json', 'invalid_request', 'request_too_large', 'unsupported_media_type'],
} as const satisfies Record<string, readonly ErrorCode[]>;

/** Which plane's middleware is in front: it decides the headers an error answer carries. */
type Plane = 'v1' | 'console' | 'public';

/** Codes whose answers say when to come back. */
const RETRY_AFTER: readonly ErrorCode[] = [
  'rate_limited',
  'rate_limit_requests',
  'rate_limit_tokens',
  'concurrency_limit',
  'quota_exceeded',
  'spend_cap_reached',
  'store_unavailable',
  'model_busy',
  'model_loading',
  'model_cold',
  'billing_unavailable',
  'idempotency_in_progress',
];
/** Codes whose answers say whether to come back at all (limits.ts, errors.ts). */
const SHOULD_RETRY: readonly ErrorCode[] = [
  'rate_limit_requests',
  'rate_limit_tokens',
  'concurrency_limit',
  'quota_exceeded',
  'spend_cap_reached',
  'insufficient_balance',
  'store_unavailable',
  'model_loading',
  'model_cold',
  'model_not_installed',
];

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Not authenticated',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Too large',
  415: 'Unsupported media type',
  422: 'Unprocessable',
  429: 'Too many requests',
  500: 'Server error',
  502: 'Bad gateway',
  503: 'Unavailable',
  504: 'Timed out',
};

type ErrorStatus = (typeof errorCodes)[ErrorCode]['status'];
type ResponseConfig = Exclude<RouteConfig['responses'][string], { $ref: string }>;
type ErrorResponse = ResponseConfig & {
  content: { 'application/json': { schema: typeof ErrorSchema } };
};

function headersOf(plane: Plane, status: number, codes: ErrorCode[], model: boolean): HeaderName[] {
  const names: HeaderName[] = [];
  if (codes.some((c) => RETRY_AFTER.includes(c))) names.push('retry-after');
  if (codes.some((c) => SHOULD_RETRY.includes(c))) names.push('x-should-retry');
  // After the key is accepted (so not on 401 and 403): the limits and the past-due warning.
  if (plane === 'v1' && status !== 401 && status !== 403) {
    names.push(...rateLimitHeaderNames, 'x-tollgate-warning');
    if (model && status !== 404) names.push(...modelVersionHeaderNames);
  }
  return names;
}

/**
 * One response per status for `codes` (and `internal_error`, which any route can answer), each
 * describing its codes and showing an example of each. `model`: a `/v1` route that resolves a
 * model version, whose answers name it even when they are refusals.
 */
export function errorResponses(
  plane: Plane,
  codes: readonly ErrorCode[],
  opts: { model?: boolean } = {},
): Partial<Record<ErrorStatus, ErrorResponse>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, 'internal_error'])) {
    const status = errorCodes[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Partial<Record<number, ErrorResponse>> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = headersOf(plane, status, group, opts.model ?? false);
    responses[status] = {
      description: `${STATUS_TEXT[status] ?? 'Error'}: ${group.map((c) => `\`${c}\` (${errorDocs[c].meaning})`).join('; ')}.`,
      ...(headers.length > 0 ? { headers: headerRefs(...headers) } : {}),
      content: {
        'application/json': {
          schema: ErrorSchema,
          examples: Object.fromEntries(
            group.map((c) => [c, { $ref: `#/components/examples/${errorExampleName(c)}` }]),
          ),
        },
      },
    };
  }
  return responses;
}

/**
 * A `/v1` success answer with the headers every one carries: the rate limits, the past-due
 * warning, and for model calls the version that served it (and its deprecation); `replayable` for
 * the POSTs an `Idempotency-Key` can replay.
 */
export function v1Ok<R extends ResponseConfig>(
  response: R,
  opts: { model?: boolean; replayable?: boolean } = {},
): R {
  const names: HeaderName[] = [
    ...(opts.model ? modelVersionHeaderNames : []),
    ...rateLimitHeaderNames,
    'x-tollgate-warning',
    ...(opts.replayable ? (['idempotent-replayed'] as const) : []),
  ];
  return { ...response, headers: { ...(response.headers as object), ...headerRefs(...names) } };
}

/** The `Idempotency-Key` request header, for the `parameters` of the POSTs that honour it. */
export const idempotencyKeyParameter = { $ref: '#/components/parameters/Idempotency-Key' } as const;
