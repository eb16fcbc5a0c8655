import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { apiKeyScope } from '../../middleware/api-key-scope';
import { requireJson } from '../../middleware/require-json';
import { registerSentiment } from './text/sentiment';
import { registerUsageList } from './usage/list';

/** The public, API-key authenticated surface: `/v1/*`. */
export function registerV1(app: OpenAPIHono<AppEnv>): void {
  app.use(
    '/v1/*',
    apiKeyAuth(),
    // Reading usage is its own scope; everything else under /v1 calls models.
    apiKeyScope((method, path) =>
      method === 'GET' && path === '/v1/usage' ? 'usage:read' : 'models:invoke',
    ),
    requireJson(),
  );
  registerSentiment(app);
  registerUsageList(app);
}
