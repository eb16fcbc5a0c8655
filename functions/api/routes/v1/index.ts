import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { apiKeyAuth } from '../../middleware/api-key-auth';
import { idempotency } from '../../middleware/idempotency';
import { requireJson } from '../../middleware/require-json';
import { registerChatCompletions } from './chat/completions';
import { registerModelsList } from './models/list';
import { registerSentiment } from './text/sentiment';
import { registerUsageList } from './usage/list';

/** The public, API-key authenticated surface: `/v1/*`. */
export function registerV1(app: OpenAPIHono<AppEnv>): void {
  app.use('/v1/*', apiKeyAuth(), requireJson(), idempotency());
  registerSentiment(app);
  registerChatCompletions(app);
  registerModelsList(app);
  registerUsageList(app);
}
