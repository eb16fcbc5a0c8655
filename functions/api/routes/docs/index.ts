import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { type ApiDocument, buildApiDocument } from '../../spec/document';
import { referencePage } from './reference-page';

/**
 * `/openapi.json`, generated from the route schemas, and `/docs`, a readable page over it.
 * `describe` mounts every plane's routes on a document-only app (never served), so the document
 * lists the whole API although this function serves one plane; it is built once, at first request.
 */
export function registerDocs(app: OpenAPIHono<AppEnv>, describe: (doc: OpenAPIHono<AppEnv>) => void): void {
  let document: ApiDocument | undefined;
  app.get('/openapi.json', (c) => {
    document ??= buildApiDocument(describe, { publicUrl: c.get('deps').config.PUBLIC_URL });
    return c.json(document);
  });
  app.get('/docs', (c) => c.html(referencePage));
}
