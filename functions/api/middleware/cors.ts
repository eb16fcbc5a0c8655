import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '#shared/errors';
import type { CoreEnv } from '../http/env';

/** Paths any page may call: API-key routes and public documents. No cookie is ever honoured there. */
const PUBLIC = /^\/(v1\/|openapi\.json$|\.well-known\/jwks\.json$)/;
/** Paths the console calls with its cookies: only its own origins. */
const CONSOLE = /^\/(auth|account|admin)(\/|$)/;

const ALLOW_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, X-Request-Id, OpenAI-Organization, OpenAI-Project';
const EXPOSE_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-model-version',
  'deprecation',
  'sunset',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'x-usage-as-of',
].join(', ');

/**
 * CORS. `/v1` (API keys) and the public documents: any origin, never with credentials (`*`
 * does not carry cookies, and a key is a header the page must set itself). `/auth`, `/account`,
 * `/admin` (console sessions): only the console's origins (PUBLIC_URL's and CONSOLE_ORIGINS),
 * echoed exactly, with credentials; a preflight from any other origin is 403. Everything else
 * (the Stripe webhook, /docs) has no CORS at all.
 */
export function cors(opts: { publicUrl: string; consoleOrigins: string[] }) {
  const consoleOrigins = new Set([
    new URL(opts.publicUrl).origin,
    ...opts.consoleOrigins.map((o) => new URL(o).origin),
  ]);
  return createMiddleware<CoreEnv>(async (c, next) => {
    const origin = c.req.header('origin');
    const path = c.req.path;
    const preflight =
      c.req.method === 'OPTIONS' && c.req.header('access-control-request-method') !== undefined;
    if (PUBLIC.test(path)) {
      if (preflight) return answerPreflight(c, '*', false);
      await next();
      if (origin) {
        c.res.headers.set('Access-Control-Allow-Origin', '*');
        c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
      }
      return;
    }
    if (CONSOLE.test(path) && origin) {
      const allowed = consoleOrigins.has(origin);
      if (preflight) {
        if (!allowed)
          throw new ApiError('forbidden', `Cross-origin requests from ${origin} are not allowed here.`);
        return answerPreflight(c, origin, true);
      }
      await next();
      c.res.headers.append('Vary', 'Origin');
      if (allowed) {
        c.res.headers.set('Access-Control-Allow-Origin', origin);
        c.res.headers.set('Access-Control-Allow-Credentials', 'true');
        c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
      }
      return;
    }
    await next();
  });
}

function answerPreflight(c: Context, origin: string, credentials: boolean): Response {
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
    'Access-Control-Allow-Headers': ALLOW_HEADERS,
    'Access-Control-Max-Age': '600',
  };
  if (credentials) {
    headers['Access-Control-Allow-Credentials'] = 'true';
    headers.Vary = 'Origin';
  }
  return c.body(null, 204, headers);
}
