import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { ApiDeps } from '../http/env';
import { composeApiDeps, type DepsOverrides } from './compose';
import { sesEmail } from './edges/email';
import { sageMakerModels } from './edges/models';
import { unwired } from './unwired';

/**
 * The data plane's dependencies: SageMaker Runtime for the models, SES for the usage alerts that
 * settling a request may send. No Stripe, no session keys: `/v1` is API keys only.
 */
export function createDataPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'billingGateway' | 'signingKeys'> = {},
): ApiDeps {
  return composeApiDeps(
    config,
    log,
    {
      models: overrides.models ?? sageMakerModels(config),
      email: overrides.email ?? sesEmail(config),
      billingGateway: unwired('the billing gateway', 'data'),
      accessTokens: () => unwired('session tokens', 'data'),
    },
    overrides,
  );
}
