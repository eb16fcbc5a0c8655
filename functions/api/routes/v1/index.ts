import type { OpenAPIHono } from '@hono/zod-openapi';
import { currentRateLimitHeaders } from '#api/gateway/limits';
import { rateLimitHeaders } from '#api/gateway/rate-limit-headers';
import type { AppEnv, DataEnv, DataPlaneDeps } from '#api/http/env';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { apiKeyScope } from '../../middleware/api-key-scope';
import { billingWarning } from '../../middleware/billing-warning';
import { idempotency } from '../../middleware/idempotency';
import { keyScopeGuard } from '../../middleware/key-scope-guard';
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

const mounted = new WeakSet<object>();

/**
 * The middleware of every `/v1` route, on whichever plane serves it (the data plane's routes, and
 * the batch plane's `/v1/files` and `/v1/batches`), mounted once per app: API-key authentication,
 * scopes and key scope, JSON bodies (a file upload is multipart) and idempotency keys.
 */
export function mountV1Middleware<A extends DataPlaneDeps>(app: OpenAPIHono<AppEnv<A>>): void {
  if (mounted.has(app)) return;
  mounted.add(app);
  (app as unknown as OpenAPIHono<DataEnv>).use(
    '/v1/*',
    // First: refusals by the key's or tenant's state are counted too.
    requestMetrics(),
    apiKeyAuth(),
    // The key's scope (addresses, read-only, endpoints), before anything reads or reserves a limit.
    keyScopeGuard({ checkAddress: true }),
    billingWarning(),
    rateLimitHeaders(currentRateLimitHeaders),
    // Reading usage is its own scope; everything else under /v1 calls models.
    apiKeyScope((method, path) =>
      method === 'GET' && path === '/v1/usage' ? 'usage:read' : 'models:invoke',
    ),
    requireJson({ multipartAt: ['/v1/files'] }),
    idempotency(),
  );
}

/** The public, API-key authenticated surface: `/v1/*`. */
export function registerV1(app: OpenAPIHono<DataEnv>): void {
  mountV1Middleware(app);
  registerSentiment(app);
  registerChatCompletions(app);
  registerEmbeddings(app);
  registerImageModerations(app);
  registerImageOcr(app);
  registerModelsList(app);
  registerModelsGet(app);
  registerUsageList(app);
}
