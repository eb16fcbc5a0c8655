import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MiddlewareHandler } from 'hono';
import { consoleSecurityHeaders, isConsolePage } from '../shared/console-routes';
import { HSTS } from '../shared/http/hsts';

/** Where `npm run build:web` puts the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../web/dist/', import.meta.url));

// Which paths are console pages, and the console's headers: shared with CloudFront (infra).
const isPage = isConsolePage;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The console's security headers (shared/console-routes.ts; CloudFront sends the same). */
export const CONSOLE_HEADERS: Record<string, string> = { ...consoleSecurityHeaders };

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Tollgate console not built</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>The console is not built</h1><p>Run <code>npm run build:web</code> (or restart <code>npm start</code>, which builds it when missing), then reload.
The API is running: see <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * Serves the built console from `distDir` in front of the API: hashed files under /assets for a
 * year (their names change with their content), index.html never cached (so a new build shows
 * at once), and index.html for every console page.
 */
export function serveConsole(
  distDir: string = CONSOLE_DIST,
  opts: { hsts?: boolean } = {},
): MiddlewareHandler {
  const root = resolve(distDir);
  const file = async (rel: string): Promise<Buffer | null> => {
    const full = resolve(root, `.${rel}`);
    if (full !== root && !full.startsWith(root + sep)) return null;
    try {
      if (!(await stat(full)).isFile()) return null;
      return await readFile(full);
    } catch {
      return null;
    }
  };
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const path = c.req.path;
    const page = isPage(path);
    const asset = path.startsWith('/assets/') || /^\/[\w.-]+\.(svg|png|ico|txt)$/.test(path);
    if (!page && !asset) return next();
    // HSTS only where the console is served over HTTPS off localhost (see wantsHsts).
    const headers: Record<string, string> = {
      ...CONSOLE_HEADERS,
      ...(opts.hsts ? { 'Strict-Transport-Security': HSTS } : {}),
    };
    if (page) {
      const html = await file('/index.html');
      return c.body(html ? new Uint8Array(html) : NOT_BUILT, html ? 200 : 503, {
        ...headers,
        'Content-Type': TYPES['.html']!,
        'Cache-Control': 'no-cache',
      });
    }
    let rel: string;
    try {
      rel = decodeURIComponent(path);
    } catch {
      return next(); // a malformed escape names no file: the API's JSON 404, not a 500
    }
    const body = await file(rel);
    if (!body) return next();
    return c.body(new Uint8Array(body), 200, {
      ...headers,
      'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
      'Cache-Control': path.startsWith('/assets/')
        ? 'public, max-age=31536000, immutable'
        : 'public, max-age=3600',
    });
  };
}
