import { createHash } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, CoreEnv } from '#api/http/env';
import { type ApiDocument, buildApiDocument } from '../../spec/document';
import { referencePage } from './reference-page';

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
 * `/openapi.json`, generated from the route schemas, and `/docs`, a readable page over it.
 * `describe` mounts every plane's routes on a document-only app (never served), so the document
 * lists the whole API although this function serves one plane; it is built once, at first request.
 */
export function registerDocs(app: OpenAPIHono<CoreEnv>, describe: (doc: OpenAPIHono<AppEnv>) => void): void {
  let document: ApiDocument | undefined;
  app.get('/openapi.json', (c) => {
    document ??= buildApiDocument(describe, { publicUrl: c.get('deps').config.PUBLIC_URL });
    return c.json(document);
  });
  // Its own CSP: the security headers middleware keeps a route's, and allows nothing otherwise.
  app.get('/docs', (c) => c.html(referencePage, 200, { 'Content-Security-Policy': DOCS_CSP }));
}
