import { type ErrorCode, type ErrorEnvelope, errorCodes } from '#shared/errors';

/** What a code means to a client, and one answer that carries it, as the API words it. */
interface ErrorDoc {
  /** One line for the status's description: when the code is answered, and what to do. */
  meaning: string;
  message: string;
  param?: string;
}

/**
 * Every error code the API answers with, documented once: its meaning and a realistic answer.
 * `satisfies Record<ErrorCode, ...>`: a new code in shared/errors.ts does not compile until it is
 * described here. The examples land in `components/examples` of /openapi.json as `error_<code>`.
 */
export const errorDocs = {
  invalid_json: { meaning: 'the body is not valid JSON', message: 'The request body is not valid JSON.' },
  invalid_request: {
    meaning: 'a field is missing or out of range; `param` names it',
    message: "'messages[0].content': must be a string or an array of text parts",
    param: 'messages[0].content',
  },
  model_not_found: {
    meaning: 'no such model, version or alias',
    message: "The model 'chatbot' does not exist. GET /v1/models lists the models you can use.",
    param: 'model',
  },
  invalid_signature: {
    meaning: 'the `Stripe-Signature` does not match the body, or its timestamp is too old',
    message: 'The Stripe-Signature does not match this body and the endpoint secret.',
    param: 'Stripe-Signature',
  },
  model_version_retired: {
    meaning: 'that version is retired; the message names its replacement',
    message:
      "Version 'mobilenet-v2-mid' of 'image-moderation' is retired; use 'image-moderation@mobilenet-v2' instead.",
    param: 'model',
  },
  invalid_image: {
    meaning: 'the image is not base64, not PNG, JPEG or WebP, or truncated (not billed)',
    message: "'image' is a truncated PNG (its data ends early).",
    param: 'image',
  },
  invalid_image_url: {
    meaning:
      'the image URL could not be fetched: not https, a private, loopback or link-local address (also after a redirect), an error status, too slow (not billed)',
    message: "'image.url' resolves to a private address, which is not fetched.",
    param: 'image.url',
  },
  missing_api_key: {
    meaning: 'no `Authorization` header',
    message: 'No API key given. Send it as `Authorization: Bearer <key>`.',
  },
  invalid_api_key: {
    meaning: 'the key is malformed, unknown, revoked or expired',
    message: 'Incorrect API key provided.',
  },
  missing_credentials: {
    meaning: 'no session: log in first',
    message:
      'Log in first: POST /auth/login, then send `Authorization: Bearer <access_token>` (or keep the session cookie).',
  },
  invalid_credentials: { meaning: 'wrong email or password', message: 'Wrong email or password.' },
  invalid_token: {
    meaning: 'the token is not valid, its session has ended, or an API key was sent instead',
    message: 'The access token is not valid.',
  },
  token_expired: {
    meaning: 'the access token has expired: refresh it at POST /auth/refresh',
    message: 'The access token has expired. Refresh it at POST /auth/refresh.',
  },
  tenant_inactive: {
    meaning: 'the account is not active (unverified or suspended)',
    message: 'This account is suspended; API calls are refused until it is active.',
  },
  forbidden: {
    meaning:
      "the key lacks the route's scope, the role may not do this, or a cookie write came from another site",
    message: "This API key lacks the scope 'models:invoke'.",
  },
  email_not_verified: {
    meaning: 'verify the email address first',
    message:
      'Verify your email first: use the token we sent (POST /auth/verify), or ask for a new one (POST /auth/verify/resend).',
  },
  model_not_in_key_scope: {
    meaning:
      "the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call",
    message: "This API key may not call 'chat@smollm2-360m'; it may call: chat@tiny-1, sentiment.",
    param: 'model',
  },
  endpoint_not_in_key_scope: {
    meaning:
      "the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)",
    message: 'This API key may not use the embeddings endpoints; it may use: chat.',
  },
  key_read_only: {
    meaning:
      'the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)',
    message: 'This API key is read-only: it may list models and read usage, not POST /v1/chat/completions.',
  },
  ip_not_in_key_allowlist: {
    meaning:
      "the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)",
    message: "This API key may not be used from 198.51.100.7: it is outside the key's allowed IP ranges.",
  },
  not_found: {
    meaning: "no such resource (another tenant's ids are not found either)",
    message: "No API key 'key_01M97D1FGKSHVR7Y2D2M4CYTB3' in your account.",
    param: 'key_id',
  },
  method_not_allowed: {
    meaning: 'the method is not allowed here',
    message: 'Method PUT is not allowed here.',
  },
  conflict: {
    meaning: 'the current state forbids it, or it changed meanwhile: read again and retry',
    message: 'This key was already rotated to key_01M97D1FGKSHVR7Y2D2M4CYTB3; rotate that one.',
    param: 'key_id',
  },
  file_in_use: {
    meaning: 'the file is the input of a batch that is still running',
    message:
      "The file 'file-01M97D1FGJZ4P1NNSPAFZTHVAW' is the input of a batch that has not ended; delete it once the batch is done.",
  },
  idempotency_in_progress: {
    meaning:
      'a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed',
    message: 'A request with this Idempotency-Key is still being served; retry shortly.',
  },
  billing_not_connected: {
    meaning: 'billing is not connected on this platform (no Stripe key)',
    message:
      'Billing is not connected on this platform (no Stripe key): usage is metered and priced in the ledger, but no card can be added.',
  },
  email_token_expired: {
    meaning: 'the emailed token has expired: ask for a new one',
    message: 'This verification token has expired. Ask for a new one at POST /auth/verify/resend.',
    param: 'token',
  },
  idempotency_key_reused: {
    meaning: 'this `Idempotency-Key` was used with a different request',
    message: 'This Idempotency-Key was used with a different request.',
    param: 'Idempotency-Key',
  },
  request_too_large: {
    meaning: 'the body is larger than MAX_BODY_BYTES',
    message: 'The request body is larger than 8388608 bytes.',
  },
  image_too_large: {
    meaning: "the image is over the version's byte or pixel limit (GET /v1/models lists them; not billed)",
    message: "'image' is larger than 4.0 MiB, the limit of image-moderation@mobilenet-v2.",
    param: 'image',
  },
  unsupported_media_type: {
    meaning: 'the body is not sent as `Content-Type: application/json`',
    message: "Send the body as JSON with `Content-Type: application/json` (got 'text/plain').",
  },
  rate_limited: {
    meaning: 'too many attempts (invalid keys from one address, failed logins, emails to one address)',
    message: 'Too many invalid API keys from this address; try again in 60 seconds.',
  },
  rate_limit_requests: {
    meaning:
      "the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`",
    message: 'Rate limit reached for your account: 60 requests per minute. Retry in 12 s.',
  },
  rate_limit_tokens: {
    meaning:
      "the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)",
    message:
      'Rate limit reached for this API key: 10000 tokens per minute (this request may use up to its prompt plus max_tokens). Retry in 12 s.',
  },
  concurrency_limit: {
    meaning: 'too many requests in flight at once',
    message: 'Too many requests in flight for your account: at most 4 at once.',
  },
  batch_limit_reached: {
    meaning: 'the batch would pass the batch lines a day the account may enqueue (apart from online limits)',
    message:
      "This batch's 1000 lines would pass the 200000 batch lines a day your account may enqueue (199500 used today). Batch limits are apart from online limits; they renew at 00:00 UTC.",
  },
  quota_exceeded: {
    meaning:
      "the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)",
    message:
      "This month's included input tokens of your plan (100000) would be exceeded. Upgrade the plan to continue (https://console.example.com/plans); it renews in 12 days.",
  },
  spend_cap_reached: {
    meaning:
      "the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)",
    message: "This month's spend cap of $50.000000000 would be exceeded. Raise the cap to continue.",
  },
  insufficient_balance: {
    meaning:
      "a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)",
    message:
      'Your credit balance ($0.000120000) cannot pay for this request (up to $0.000264000). Add credit to continue; you were not billed.',
  },
  internal_error: {
    meaning: 'the server failed; the request id in the answer finds it in the logs',
    message: 'The server failed to answer this request.',
  },
  model_error: {
    meaning: 'the model failed or answered something unreadable (not billed)',
    message: 'The model chat@tiny-1 failed to answer. You were not billed.',
  },
  model_unavailable: {
    meaning: 'the model cannot be reached (not billed); try again shortly',
    message: 'The model chat@tiny-1 is unavailable right now. You were not billed; try again shortly.',
  },
  store_unavailable: {
    meaning: 'the data store did not answer, so nothing was done (not billed); retry after `Retry-After`',
    message: 'The data store did not answer, so the request was not completed. Try again.',
  },
  model_busy: {
    meaning: 'the model is at capacity (not billed); retry after `Retry-After`',
    message: 'The model chat@tiny-1 is at capacity. You were not billed; retry after a second.',
  },
  model_loading: {
    meaning: 'the model is loading (not billed); retry after `Retry-After`',
    message: 'The model chat@tiny-1 is loading. You were not billed; retry in a few seconds.',
  },
  model_cold: {
    meaning:
      'the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`',
    message:
      'The model chat@smollm2-135m is cold: no copy is running, and this call started one, which takes a few minutes. You were not billed; retry after 30 seconds.',
  },
  model_not_installed: {
    meaning:
      'the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)',
    message:
      'The model chat@smollm2-135m is not installed here (its weights are not downloaded). You were not billed, and retrying will not help: call an available version (GET /v1/models says which), or an operator installs it with `npm run models:pull -- HuggingFaceTB/SmolLM2-135M-Instruct`.',
  },
  email_unavailable: {
    meaning: 'the email could not be sent; try again in a few minutes',
    message: 'The email could not be sent; try again in a few minutes.',
  },
  billing_unavailable: {
    meaning: 'Stripe did not answer, or billing is not set up yet; retry after `Retry-After`',
    message: 'Stripe did not answer; try again in a minute.',
  },
  model_timeout: {
    meaning: 'the model did not answer in time (not billed)',
    message: 'The model chat@tiny-1 did not answer within 30000 ms. You were not billed.',
  },
} as const satisfies Record<ErrorCode, ErrorDoc>;

/** The name of a code's example in `components/examples`. */
export const errorExampleName = (code: ErrorCode) => `error_${code}`;

/** The answer a code's example shows: the envelope every error carries. */
export function errorExample(code: ErrorCode): ErrorEnvelope {
  const doc: ErrorDoc = errorDocs[code];
  return {
    error: {
      message: doc.message,
      type: errorCodes[code].type,
      code,
      param: doc.param ?? null,
      request_id: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW',
    },
  };
}
