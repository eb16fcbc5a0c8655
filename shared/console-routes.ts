/**
 * Who answers which path on the console's origin, and the console's security headers. One list
 * for both runtimes: the local server (local/web-console.ts) and CloudFront (the Console stack's
 * behaviours, its SPA rewrite function and its response headers policy) read it from here, so a
 * new page or API prefix cannot work on a laptop and 404 in the cloud.
 */

/**
 * The console's own pages (client-side routes): a reload or a link from an email lands on
 * index.html. Everything else stays the API's, so an unknown API path is still a JSON 404.
 */
export const consolePages = [
  '/',
  '/login',
  '/signup',
  '/verify-email',
  '/reset-password',
  '/accept-invitation',
  '/pricing',
  '/overview',
  '/keys',
  '/usage',
  '/batches',
  '/requests',
  '/models',
  '/playground',
  '/billing',
  '/plans',
  '/credits',
  '/projects',
  '/team',
  '/alerts',
  '/audit',
  '/operator',
] as const;

/** Below this prefix every path is a console page (the operator area's detail pages). */
export const consolePagePrefixes = ['/operator/'] as const;

/** True for a console page; a trailing slash is ignored (`/keys/` is `/keys`). */
export function isConsolePage(path: string): boolean {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return (consolePages as readonly string[]).includes(p) || consolePagePrefixes.some((x) => p.startsWith(x));
}

/**
 * The API's paths, as CloudFront path patterns (`*` matches anything, `/` included). Every
 * operation in /openapi.json matches one of them (tested), and no console page does.
 */
export const apiPathPatterns = [
  '/v1/*',
  '/auth/*',
  '/account',
  '/account/*',
  '/admin/*',
  '/webhooks/*',
  '/.well-known/*',
  '/public/*',
  '/openapi.json',
  '/docs',
] as const;

/**
 * Paths whose answers may stream (server-sent events): in the cloud these go to the API's
 * response-streaming Function URL instead of the buffering HTTP API.
 */
export const streamingPathPatterns = ['/v1/chat/completions'] as const;

/** CloudFront's path-pattern semantics: `*` is any run of characters, `?` one; case-sensitive. */
export function matchesPathPattern(pattern: string, path: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(path);
}

/**
 * The console's Content-Security-Policy. No inline script or style element is allowed, so an
 * injected `<script>` cannot run; the page talks only to its own origin (the API) and cannot be
 * framed. `blob:`/`data:` images are the playground's upload previews.
 */
export const consoleContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The console's security headers, on every console page and file. */
export const consoleSecurityHeaders = {
  'Content-Security-Policy': consoleContentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Verification and reset links carry tokens in the query: never hand them to another site.
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
} as const;
