import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { referencePage } from './reference-page';

/** `/openapi.json`, generated from the route schemas, and `/docs`, a readable page over it. */
export function registerDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer tg_live_...`',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Tollgate API',
      version: '1',
      description:
        'Metered model inference. Errors use the OpenAI envelope `{"error":{"message","type","code","param"}}` and every answer carries `x-request-id`.',
    },
  });
  app.get('/docs', (c) => c.html(referencePage));
}
