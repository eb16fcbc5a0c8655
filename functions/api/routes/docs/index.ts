import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { referencePage } from './reference-page';

/**
 * `/openapi.json`, generated from the route schemas, and `/docs`, a readable page over it.
 * `describe` mounts every plane's routes on a document-only app (never served), so the document
 * lists the whole API although this function serves one plane; it is built once, at first request.
 */
export function registerDocs(app: OpenAPIHono<AppEnv>, describe: (doc: OpenAPIHono<AppEnv>) => void): void {
  let document: ReturnType<OpenAPIHono['getOpenAPI31Document']> | undefined;
  app.get('/openapi.json', (c) => {
    document ??= apiDocument(describe);
    return c.json(document);
  });
  app.get('/docs', (c) => c.html(referencePage));
}

function apiDocument(describe: (doc: OpenAPIHono<AppEnv>) => void) {
  const doc = new OpenAPIHono<AppEnv>();
  doc.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer tg_live_...`',
  });
  describe(doc);
  return doc.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Tollgate API',
      version: '1',
      description:
        'Metered model inference. Errors use the OpenAI envelope `{"error":{"message","type","code","param"}}` and every answer carries `x-request-id`.',
    },
  });
}
