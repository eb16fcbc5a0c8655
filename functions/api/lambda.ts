import { getConnInfo, handle } from 'hono/aws-lambda';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { environmentWithSecrets } from '../secrets';
import { createApiApp } from './app';
import { createApiDeps } from './deps';

// Built once per Lambda instance (cold start); every invocation reuses the clients and caches.
const config = loadConfig(await environmentWithSecrets(process.env));
export const app = createApiApp(
  createApiDeps(config, createLogger(config.LOG_LEVEL), {
    // API Gateway's sourceIp: the caller's address, which a client cannot forge with a header.
    clientIp: (c) => getConnInfo(c).remote.address ?? null,
  }),
);

/** Behind the HTTP API: buffered answers (API Gateway cannot stream). */
export const handler = handle(app);
