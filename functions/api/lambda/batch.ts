import { handle } from 'hono/aws-lambda';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { environmentWithSecrets } from '../../secrets';
import { createPlaneApp } from '../plane-app';
import { registerBatchPlane } from '../planes/batch';
import { createBatchPlaneDeps } from '../wiring/batch-deps';
import { lambdaRuntime } from './runtime';

// Built once per Lambda instance (cold start). The session signing keys (the platform secret) are
// read here once, for the consoles' batch pages.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);

/** `/v1/files`, `/v1/batches` and the consoles' batch pages, behind the HTTP API. */
export const handler = handle(
  createPlaneApp(createBatchPlaneDeps(config, log, lambdaRuntime(config, log)), registerBatchPlane),
);
