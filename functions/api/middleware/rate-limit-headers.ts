import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { currentRateLimitHeaders } from '../limits';

/**
 * Puts `x-ratelimit-*` on every authenticated `/v1` answer. Inference routes read the counters
 * while the model runs (set by their reservation); other routes read them here, in one BatchGet.
 * Refusals carry their own headers already.
 */
export function rateLimitHeaders() {
  return createMiddleware<AppEnv>(async (c, next) => {
    await next();
    if (c.res.headers.has('x-ratelimit-limit-requests') || c.res.status === 401 || c.res.status === 403)
      return;
    const pending = c.get('rateLimit');
    const headers = await (pending ?? currentRateLimitHeaders(c).catch(() => undefined));
    for (const [name, value] of Object.entries(headers ?? {})) c.res.headers.set(name, value);
  });
}
