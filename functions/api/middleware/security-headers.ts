import { createMiddleware } from 'hono/factory';
import { HSTS, wantsHsts } from '#shared/http/hsts';
import type { CoreEnv } from '../http/env';

/** JSON answers are never rendered: a CSP that allows nothing, so a reflected string cannot run. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Security headers on every API answer: nosniff, no framing, no referrer, a CSP that allows
 * nothing (unless the route set its own, as the reference page does for its inline code), HSTS
 * when PUBLIC_URL is HTTPS off localhost, and `no-store` on everything but the public reference
 * documents, so a shared cache never keeps a session's answer.
 */
export function securityHeaders(opts: { publicUrl: string }) {
  const hsts = wantsHsts(opts.publicUrl);
  return createMiddleware<CoreEnv>(async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
    h.set('Referrer-Policy', 'no-referrer');
    h.set('Cross-Origin-Resource-Policy', c.req.path.startsWith('/v1/') ? 'cross-origin' : 'same-origin');
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', API_CSP);
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
    if (hsts) h.set('Strict-Transport-Security', HSTS);
  });
}
