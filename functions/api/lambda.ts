import { getConnInfo, handle } from 'hono/aws-lambda';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { metricServices } from '../../shared/observability/metrics';
import { stdoutEmfMetrics } from '../../shared/observability/metrics-sink';
import { environmentWithSecrets } from '../secrets';
import { createApiApp } from './app';
import { createApiDeps } from './deps';

// Built once per Lambda instance (cold start); every invocation reuses the clients and caches.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
export const app = createApiApp(
  createApiDeps(config, log, {
    // API Gateway's sourceIp: the caller's address, which a client cannot forge with a header.
    clientIp: (c) => getConnInfo(c).remote.address ?? null,
    // CloudWatch Embedded Metric Format on stdout: metrics without an API call per request.
    metrics: stdoutEmfMetrics({ service: metricServices.api, Stage: config.STAGE }, log),
  }),
);

/** Behind the HTTP API: buffered answers (API Gateway cannot stream). */
export const handler = handle(app);
