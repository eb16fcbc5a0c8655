import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { ApiDeps } from '../http/env';
import { composeApiDeps, type DepsOverrides } from './compose';
import { unwired } from './unwired';

/**
 * The docs plane's dependencies: only what the common middleware reads (config, logger, ids,
 * metrics). Its routes touch no store (its function may not), send no email, hold no key.
 */
export function createDocsPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Pick<DepsOverrides, 'clientIp' | 'metrics' | 'now'> = {},
): ApiDeps {
  return composeApiDeps(
    config,
    log,
    {
      models: unwired('the model client', 'docs'),
      email: unwired('email', 'docs'),
      billingGateway: unwired('the billing gateway', 'docs'),
      accessTokens: () => unwired('session tokens', 'docs'),
    },
    overrides,
  );
}
