import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { ApiDeps } from '../http/env';
import { composeApiDeps, type DepsOverrides } from './compose';
import { sesEmail } from './edges/email';
import { sessionTokens } from './edges/sessions';
import { unwired } from './unwired';

/** The console plane's dependencies: sessions and account email. It invokes no model and holds no Stripe key. */
export function createConsolePlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'models' | 'billingGateway'> = {},
): ApiDeps {
  return composeApiDeps(
    config,
    log,
    {
      models: unwired('the model client', 'console'),
      email: overrides.email ?? sesEmail(config),
      billingGateway: unwired('the billing gateway', 'console'),
      accessTokens: sessionTokens(config, overrides.signingKeys),
    },
    overrides,
  );
}
