import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { BatchPlaneDeps } from '../http/env';
import { accountDeps, composeBase, type DepsOverrides, dataParts } from './compose';
import { batchParts } from './edges/batch';
import { sesEmail } from './edges/email';
import { sageMakerModels } from './edges/models';
import { sessionTokens } from './edges/sessions';

/**
 * The batch plane's dependencies: the `/v1` middleware's (API keys, the rate-limit headers), the
 * catalog to validate lines, sessions for the consoles' batch pages, and S3 and the queue. Its
 * role may not invoke a model: the worker (functions/jobs/batch-worker-lambda.ts) runs the lines.
 */
export function createBatchPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'billingGateway'> = {},
): BatchPlaneDeps {
  const base = composeBase(config, log, overrides);
  const email = overrides.email ?? sesEmail(config);
  return {
    ...base.core,
    ...dataParts(base, { models: overrides.models ?? sageMakerModels(config), email }),
    accounts: accountDeps(base, { email, accessTokens: sessionTokens(config, overrides.signingKeys) }),
    batch: batchParts(config, base.stores, overrides.batch),
  };
}
