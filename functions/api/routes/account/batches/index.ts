import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BatchEnv } from '#api/http/env';
import { guardAccount } from '../session';
import { registerAccountBatchCreate } from './create';
import { registerAccountBatchReads } from './read';

/** `/account/batches*`: the developer console's batch pages, behind a tenant user's session (batch plane). */
export function registerAccountBatches(app: OpenAPIHono<BatchEnv>): void {
  guardAccount(app);
  registerAccountBatchCreate(app);
  registerAccountBatchReads(app);
}
