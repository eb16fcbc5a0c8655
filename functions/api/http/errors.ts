import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { asStoreUnavailable } from '#shared/db/store-errors';
import { ApiError } from '#shared/errors';
import type { CoreEnv } from './env';

/** The one `onError`: every failure leaves as the OpenAI-style envelope; only 5xx are logged as errors. */
export function handleError<E extends CoreEnv>(err: Error, c: Context<E>): Response {
  const apiError = toApiError(err);
  const log = c.get('log');
  if (apiError.status >= 500) {
    log?.error(
      { err: err === apiError ? (apiError.cause ?? err) : err, code: apiError.code },
      'request failed',
    );
  }
  for (const [name, value] of Object.entries(apiError.headers)) c.header(name, value);
  return c.json(apiError.toEnvelope(c.get('requestId')), apiError.status as 400);
}

function toApiError(err: Error): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return new ApiError('invalid_json', 'The request body is not valid JSON.', { cause: err });
    }
    if (err.status === 413) return new ApiError('request_too_large', 'The request body is too large.');
    if (err.status === 415) {
      return new ApiError(
        'unsupported_media_type',
        'Send the body as JSON with `Content-Type: application/json`.',
      );
    }
    if (err.status < 500) return new ApiError('invalid_request', err.message, { cause: err });
  }
  // The store down, slow or throttling wherever the request needed it: not the caller's fault,
  // and worth retrying (most requests read the store before doing anything, so nothing was done).
  const unavailable = asStoreUnavailable(err);
  if (unavailable) {
    return new ApiError(
      'store_unavailable',
      'The data store did not answer, so the request was not completed. Try again.',
      {
        cause: unavailable,
        headers: { 'retry-after': '1', 'x-should-retry': 'true' },
      },
    );
  }
  return new ApiError('internal_error', 'The server failed to answer this request.', { cause: err });
}

/** Answer for routes that do not exist. */
export function handleNotFound<E extends CoreEnv>(c: Context<E>): Response {
  const err = new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`);
  return c.json(err.toEnvelope(c.get('requestId')), 404);
}

/**
 * The validation hook every route shares: the first zod issue becomes a 400 whose `param` names
 * the field (`input[2]`, `messages[0].content`).
 */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }): void {
  if (result.success) return;
  const issue = (result.error as ZodError).issues[0];
  const param = issue ? formatPath(issue.path) : null;
  const message = issue ? `${param ? `'${param}': ` : ''}${issue.message}` : 'The request is not valid.';
  throw new ApiError('invalid_request', message, { param });
}

function formatPath(path: PropertyKey[]): string | null {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || null;
}
