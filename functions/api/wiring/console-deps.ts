import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { ConsolePlaneDeps } from '../http/env';
import { accountDeps, composeBase, consoleParts, type DepsOverrides } from './compose';
import { sesEmail } from './edges/email';
import { sessionTokens } from './edges/sessions';

/** The console plane's dependencies: sessions and account email. It invokes no model and holds no Stripe key. */
export function createConsolePlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'models' | 'billingGateway'> = {},
): ConsolePlaneDeps {
  const base = composeBase(config, log, overrides);
  return {
    ...base.core,
    accounts: accountDeps(base, {
      email: overrides.email ?? sesEmail(config),
      accessTokens: sessionTokens(config, overrides.signingKeys),
    }),
    ...consoleParts(base),
  };
}
