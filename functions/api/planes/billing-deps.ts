import type { Config } from '../../../shared/config';
import type { Logger } from '../../../shared/logger';
import { composeApiDeps, type DepsOverrides } from '../compose';
import { createBillingGateway } from '../edges/billing';
import { sesEmail } from '../edges/email';
import { sessionTokens } from '../edges/sessions';
import type { ApiDeps } from '../env';
import { unwired } from '../unwired';

/**
 * The billing plane's dependencies (also the billing job's): Stripe, sessions for
 * `/account/billing`, and email for payment notices. It invokes no model.
 */
export function createBillingPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'models'> = {},
): ApiDeps {
  return composeApiDeps(
    config,
    log,
    {
      models: unwired('the model client', 'billing'),
      email: overrides.email ?? sesEmail(config),
      billingGateway: overrides.billingGateway ?? createBillingGateway(config),
      accessTokens: sessionTokens(config, overrides.signingKeys),
    },
    overrides,
  );
}
