import { handle } from 'hono/aws-lambda';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { environmentWithSecrets } from '../../secrets';
import { createPlaneApp } from '../plane-app';
import { registerDataPlane } from '../planes/data';
import { createDataPlaneDeps } from '../wiring/data-deps';
import { lambdaRuntime } from './runtime';

// Built once per Lambda instance (cold start); every invocation reuses the clients and caches.
// The data plane holds no session or Stripe key (API keys are checked by hash); the one secret it
// reads is the edge secret, so its per-IP limit on invalid keys sees callers' addresses behind
// CloudFront (shared/http/client-ip.ts).
export const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
export const app = createPlaneApp(
  createDataPlaneDeps(config, log, lambdaRuntime(config, log)),
  registerDataPlane,
);

/** `/v1/*` behind the HTTP API: buffered answers (API Gateway cannot stream). */
export const handler = handle(app);
