import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { DataPlaneDeps } from '../http/env';
import { composeBase, type DepsOverrides, dataParts } from './compose';
import { sesEmail } from './edges/email';
import { sageMakerModels } from './edges/models';

/**
 * The data plane's dependencies: SageMaker Runtime for the models, SES for the usage alerts that
 * settling a request may send. No Stripe, no session keys: `/v1` is API keys only.
 */
export function createDataPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'billingGateway' | 'signingKeys'> = {},
): DataPlaneDeps {
  const base = composeBase(config, log, overrides);
  return {
    ...base.core,
    ...dataParts(base, {
      models: overrides.models ?? sageMakerModels(config),
      email: overrides.email ?? sesEmail(config),
    }),
  };
}
