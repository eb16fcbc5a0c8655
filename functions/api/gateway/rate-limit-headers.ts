import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { DataEnv } from '../http/env';

/**
 * Puts `x-ratelimit-*` on every authenticated `/v1` answer. Inference routes read the counters
 * while the model runs (set by their reservation); other routes read them here with `current`
 * (the quota accounting's reader, passed in: this middleware knows headers, not quotas).
 * Refusals carry their own headers already.
 */
export function rateLimitHeaders(current: (c: Context<DataEnv>) => Promise<Record<string, string>>) {
  return createMiddleware<DataEnv>(async (c, next) => {
    await next();
    if (c.res.headers.has('x-ratelimit-limit-requests') || c.res.status === 401 || c.res.status === 403)
      return;
    const pending = c.get('rateLimit');
    const headers = await (pending ?? current(c).catch(() => undefined));
    for (const [name, value] of Object.entries(headers ?? {})) c.res.headers.set(name, value);
  });
}
