import type { Config } from '#shared/config';
import type { Logger } from '#shared/logger';
import type { ApiDeps } from '../http/env';
import {
  accountDeps,
  billingParts,
  composeBase,
  consoleParts,
  type DepsOverrides,
  dataParts,
} from './compose';
import { batchParts } from './edges/batch';
import { createBillingGateway } from './edges/billing';
import { sesEmail } from './edges/email';
import { sageMakerModels } from './edges/models';
import { sessionTokens } from './edges/sessions';
import type { Stores } from './stores';

export type { DepsOverrides } from './compose';
export { createBillingGateway } from './edges/billing';
export { createStores, type Stores } from './stores';

/**
 * Wires every plane's dependencies from config: the composition root of the local server (all
 * planes in one process), the tests and the billing job. Each plane's Lambda entry wires only its
 * own adapters instead (functions/api/planes/*-deps.ts), so its bundle carries only its SDKs.
 */
export function createApiDeps(
  config: Config,
  log: Logger,
  overrides: DepsOverrides = {},
): ApiDeps & { stores: Stores } {
  const base = composeBase(config, log, overrides);
  const email = overrides.email ?? sesEmail(config);
  const accounts = accountDeps(base, { email, accessTokens: sessionTokens(config, overrides.signingKeys) });
  const data = dataParts(base, { models: overrides.models ?? sageMakerModels(config), email });
  // The local server's and the tests' stream poller runs this consumer: it checks key budgets as
  // the consumer's function does in AWS, but mails through this process's email port.
  base.stores.usageConsumer.afterApply(async (touched, all) => {
    await data.keyBudgets.afterBatch(touched);
    await data.projectBudgets.afterBatch(all.projects);
  });
  return {
    ...base.core,
    stores: base.stores,
    ...data,
    accounts,
    ...consoleParts(base),
    billing: billingParts(base, accounts, overrides.billingGateway ?? createBillingGateway(config)),
    batch: batchParts(config, base.stores, overrides.batch),
  };
}
