import type { Context } from 'hono';
import { ApiError } from '#shared/errors';
import type { CoreEnv } from '../http/env';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Origins whose pages may make cookie-authenticated writes: this API's own, PUBLIC_URL's and CONSOLE_ORIGINS. */
function allowedOrigins<E extends CoreEnv>(c: Context<E>): Set<string> {
  const { config } = c.get('deps');
  return new Set([new URL(c.req.url).origin, new URL(config.PUBLIC_URL).origin, ...config.CONSOLE_ORIGINS]);
}

/**
 * CSRF defence for cookie-authenticated writes, on top of SameSite=Strict cookies: the browser's
 * `Origin` (or, failing that, `Referer`) must be an allowed origin. Browsers always send one on
 * such requests; a request with neither is refused. Bearer-token callers are not checked: a
 * header a page must set itself is not ambient authority.
 */
export function checkSameOrigin<E extends CoreEnv>(c: Context<E>): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const origin = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
  if (origin && origin !== 'null' && allowedOrigins(c).has(origin)) return;
  throw new ApiError(
    'forbidden',
    origin
      ? `Cross-site request refused: cookie-authenticated writes must come from this site, not ${origin}.`
      : 'Cross-site request refused: a cookie-authenticated write must carry an Origin header. Scripts should send `Authorization: Bearer <access_token>` instead of cookies.',
  );
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
