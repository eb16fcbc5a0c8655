/**
 * The closed set of error codes the platform answers with. Each code has exactly one HTTP status
 * and one OpenAI-style `type`; routes never pick a status themselves.
 */
export const errorCodes = {
  // 400
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  model_not_found: { status: 400, type: 'invalid_request_error' },
  invalid_signature: { status: 400, type: 'invalid_request_error' },
  model_version_retired: { status: 400, type: 'invalid_request_error' },
  invalid_image: { status: 400, type: 'invalid_request_error' },
  invalid_image_url: { status: 400, type: 'invalid_request_error' },
  // 401
  missing_api_key: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  missing_credentials: { status: 401, type: 'authentication_error' },
  invalid_credentials: { status: 401, type: 'authentication_error' },
  invalid_token: { status: 401, type: 'authentication_error' },
  token_expired: { status: 401, type: 'authentication_error' },
  // 403
  tenant_inactive: { status: 403, type: 'permission_error' },
  forbidden: { status: 403, type: 'permission_error' },
  email_not_verified: { status: 403, type: 'permission_error' },
  // A key's scope (shared/auth/key-scope.ts) does not cover the call: each code names the scope.
  model_not_in_key_scope: { status: 403, type: 'permission_error' },
  endpoint_not_in_key_scope: { status: 403, type: 'permission_error' },
  key_read_only: { status: 403, type: 'permission_error' },
  ip_not_in_key_allowlist: { status: 403, type: 'permission_error' },
  // 404, 405
  not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  // 409, 410, 422
  conflict: { status: 409, type: 'invalid_request_error' },
  idempotency_in_progress: { status: 409, type: 'invalid_request_error' },
  file_in_use: { status: 409, type: 'invalid_request_error' },
  billing_not_connected: { status: 409, type: 'invalid_request_error' },
  email_token_expired: { status: 410, type: 'invalid_request_error' },
  idempotency_key_reused: { status: 422, type: 'invalid_request_error' },
  // 413, 415
  request_too_large: { status: 413, type: 'invalid_request_error' },
  image_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  // 429: rate limits pass (retry later); quotas and caps are hard stops until the month or plan changes
  rate_limited: { status: 429, type: 'rate_limit_error' },
  rate_limit_requests: { status: 429, type: 'rate_limit_error' },
  rate_limit_tokens: { status: 429, type: 'rate_limit_error' },
  concurrency_limit: { status: 429, type: 'rate_limit_error' },
  batch_limit_reached: { status: 429, type: 'rate_limit_error' },
  quota_exceeded: { status: 429, type: 'insufficient_quota' },
  spend_cap_reached: { status: 429, type: 'insufficient_quota' },
  // A prepaid tenant's credit cannot pay the request's worst case: a hard stop until credit is
  // added (no Retry-After: time does not refill it).
  insufficient_balance: { status: 429, type: 'insufficient_quota' },
  // 5xx
  internal_error: { status: 500, type: 'api_error' },
  model_error: { status: 502, type: 'api_error' },
  model_unavailable: { status: 502, type: 'api_error' },
  store_unavailable: { status: 503, type: 'api_error' },
  model_busy: { status: 503, type: 'api_error' },
  model_loading: { status: 503, type: 'api_error' },
  // The version runs no copy now (scaled to zero while idle); the call started one, which takes
  // minutes: `Retry-After` and `x-should-retry: true`.
  model_cold: { status: 503, type: 'api_error' },
  // 503, not 404: the version exists in the catalog (a 404 would say it does not) and the fix is the
  // operator's, not the caller's; `x-should-retry: false` and no Retry-After stop clients retrying.
  model_not_installed: { status: 503, type: 'api_error' },
  email_unavailable: { status: 503, type: 'api_error' },
  billing_unavailable: { status: 503, type: 'api_error' },
  model_timeout: { status: 504, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The body every error answer carries: `{ "error": { message, type, code, param, request_id } }`. */
export interface ErrorEnvelope {
  error: {
    message: string;
    type: string;
    code: ErrorCode;
    param: string | null;
    request_id?: string;
  };
}

/** The one error type routes and middleware throw; `onError` turns it into the envelope. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { param?: string | null; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  toEnvelope(requestId?: string): ErrorEnvelope {
    return {
      error: {
        message: this.message,
        type: errorCodes[this.code].type,
        code: this.code,
        param: this.param,
        ...(requestId ? { request_id: requestId } : {}),
      },
    };
  }
}
