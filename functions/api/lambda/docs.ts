import { handle } from 'hono/aws-lambda';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { createPlaneApp } from '../plane-app';
import { registerDocsPlane } from '../planes/docs';
import { createDocsPlaneDeps } from '../wiring/docs-deps';
import { lambdaRuntime } from './runtime';

// Built once per Lambda instance. No secret: the documentation is public.
const config = loadConfig(process.env);
const log = createLogger(config.LOG_LEVEL);

/** `/openapi.json` and `/docs`, behind the HTTP API. */
export const handler = handle(
  createPlaneApp(createDocsPlaneDeps(config, log, lambdaRuntime(config, log)), registerDocsPlane),
);
