import { handle } from 'hono/aws-lambda';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { environmentWithSecrets } from '../../secrets';
import { createPlaneApp } from '../plane-app';
import { registerConsolePlane } from '../planes/console';
import { createConsolePlaneDeps } from '../wiring/console-deps';
import { lambdaRuntime } from './runtime';

// Built once per Lambda instance (cold start). The session signing keys come from the platform
// secret, read here once.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);

/** Sessions, accounts, operators and the API's documentation, behind the HTTP API. */
export const handler = handle(
  createPlaneApp(createConsolePlaneDeps(config, log, lambdaRuntime(config, log)), registerConsolePlane),
);
