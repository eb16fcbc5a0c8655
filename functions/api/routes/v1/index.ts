import type { OpenAPIHono } from '@hono/zod-openapi';
import { currentRateLimitHeaders } from '#api/gateway/limits';
import { rateLimitHeaders } from '#api/gateway/rate-limit-headers';
import type { DataEnv } from '#api/http/env';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { apiKeyScope } from '../../middleware/api-key-scope';
import { billingWarning } from '../../middleware/billing-warning';
import { idempotency } from '../../middleware/idempotency';
import { requestMetrics } from '../../middleware/request-metrics';
import { requireJson } from '../../middleware/require-json';
import { registerChatCompletions } from './chat/completions';
import { registerEmbeddings } from './embeddings/create';
import { registerImageModerations } from './images/moderations';
import { registerImageOcr } from './images/ocr';
import { registerModelsGet } from './models/get';
import { registerModelsList } from './models/list';
import { registerSentiment } from './text/sentiment';
import { registerUsageList } from './usage/list';

/** The public, API-key authenticated surface: `/v1/*`. */
export function registerV1(app: OpenAPIHono<DataEnv>): void {
  app.use(
    '/v1/*',
    // First: refusals by the key's or tenant's state are counted too.
    requestMetrics(),
    apiKeyAuth(),
    billingWarning(),
    rateLimitHeaders(currentRateLimitHeaders),
    // Reading usage is its own scope; everything else under /v1 calls models.
    apiKeyScope((method, path) =>
      method === 'GET' && path === '/v1/usage' ? 'usage:read' : 'models:invoke',
    ),
    requireJson(),
    idempotency(),
  );
  registerSentiment(app);
  registerChatCompletions(app);
  registerEmbeddings(app);
  registerImageModerations(app);
  registerImageOcr(app);
  registerModelsList(app);
  registerModelsGet(app);
  registerUsageList(app);
}
