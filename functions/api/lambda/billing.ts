import { handle } from 'hono/aws-lambda';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { environmentWithSecrets } from '../../secrets';
import { createPlaneApp } from '../plane-app';
import { registerBillingPlane } from '../planes/billing';
import { createBillingPlaneDeps } from '../wiring/billing-deps';
import { lambdaRuntime } from './runtime';

// Built once per Lambda instance (cold start). Stripe's keys (the Stripe secret) and the session
// signing keys (the platform secret) are read here once.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);

/** `/account/billing/*` and Stripe's webhook, behind the HTTP API. */
export const handler = handle(
  createPlaneApp(createBillingPlaneDeps(config, log, lambdaRuntime(config, log)), registerBillingPlane),
);
