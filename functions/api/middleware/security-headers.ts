import { createHash } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { HSTS, wantsHsts } from '../../../shared/http/hsts';
import type { AppEnv } from '../env';
import { referencePage } from '../routes/docs/reference-page';

/** sha256 sources of a page's inline elements, so its CSP allows exactly those and nothing injected. */
function inlineHashes(html: string, tag: 'script' | 'style'): string {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(re)]
    .map(
      (m) =>
        `'sha256-${createHash('sha256')
          .update(m[1] ?? '')
          .digest('base64')}'`,
    )
    .join(' ');
}

/** JSON answers are never rendered: a CSP that allows nothing, so a reflected string cannot run. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** The reference page: its own inline script and style (by hash), /openapi.json, nothing else. */
const DOCS_CSP = [
  "default-src 'none'",
  `script-src ${inlineHashes(referencePage, 'script')}`,
  `style-src ${inlineHashes(referencePage, 'style')}`,
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Security headers on every API answer: nosniff, no framing, no referrer, a CSP that allows
 * nothing (the reference page: its own inline code by hash), HSTS when PUBLIC_URL is HTTPS
 * off localhost, and `no-store` on everything but the public reference documents, so a
 * shared cache never keeps a session's answer.
 */
export function securityHeaders(opts: { publicUrl: string }) {
  const hsts = wantsHsts(opts.publicUrl);
  return createMiddleware<AppEnv>(async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
    h.set('Referrer-Policy', 'no-referrer');
    h.set('Cross-Origin-Resource-Policy', c.req.path.startsWith('/v1/') ? 'cross-origin' : 'same-origin');
    if (!h.has('Content-Security-Policy'))
      h.set('Content-Security-Policy', c.req.path === '/docs' ? DOCS_CSP : API_CSP);
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
    if (hsts) h.set('Strict-Transport-Security', HSTS);
  });
}
