import { createMiddleware } from 'hono/factory';
import { ApiError } from '#shared/errors';
import type { DataEnv } from '../http/env';

const JSON_RE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** Requests with a body must say it is JSON; otherwise the validator would see an empty object. */
export function requireJson() {
  return createMiddleware<DataEnv>(async (c, next) => {
    if (c.req.method === 'POST' || c.req.method === 'PUT' || c.req.method === 'PATCH') {
      const type = c.req.header('content-type') ?? '';
      if (!JSON_RE.test(type)) {
        throw new ApiError(
          'unsupported_media_type',
          `Send the body as JSON with \`Content-Type: application/json\` (got ${type ? `'${type}'` : 'none'}).`,
        );
      }
    }
    await next();
  });
}
