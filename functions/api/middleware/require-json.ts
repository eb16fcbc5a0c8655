import { createMiddleware } from 'hono/factory';
import { ApiError } from '#shared/errors';
import type { DataEnv } from '../http/env';

const JSON_RE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

const MULTIPART_RE = /^multipart\/form-data\s*;/i;

/**
 * Requests with a body must say it is JSON; otherwise the validator would see an empty object.
 * `multipartAt`: paths whose body is a form upload instead (`multipart/form-data`).
 */
export function requireJson(opts: { multipartAt?: readonly string[] } = {}) {
  return createMiddleware<DataEnv>(async (c, next) => {
    const bodiless =
      !c.req.header('content-type') &&
      (c.req.header('content-length') ?? '0') === '0' &&
      !c.req.header('transfer-encoding');
    // A POST that sends nothing (`/v1/batches/{id}/cancel`) has no body to type.
    if ((c.req.method === 'POST' || c.req.method === 'PUT' || c.req.method === 'PATCH') && !bodiless) {
      const type = c.req.header('content-type') ?? '';
      if (opts.multipartAt?.includes(c.req.path)) {
        if (!MULTIPART_RE.test(type))
          throw new ApiError(
            'unsupported_media_type',
            `Send the file as \`multipart/form-data\` (got ${type ? `'${type}'` : 'none'}).`,
          );
      } else if (!JSON_RE.test(type)) {
        throw new ApiError(
          'unsupported_media_type',
          `Send the body as JSON with \`Content-Type: application/json\` (got ${type ? `'${type}'` : 'none'}).`,
        );
      }
    }
    await next();
  });
}
