import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { DocsPlaneDeps } from '../http/env';
import { composeCore, type DepsOverrides } from './compose';

/**
 * The docs plane's dependencies: only what the common middleware reads (config, logger, ids,
 * metrics). Its routes touch no store (its function may not), send no email, hold no key.
 */
export function createDocsPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Pick<DepsOverrides, 'clientIp' | 'metrics' | 'now'> = {},
): DocsPlaneDeps {
  return composeCore(config, log, overrides);
}
