import type { Config } from '#shared/config';
import { tableNames } from '#shared/db/tables';
import { QueuedEmailSender } from '#shared/email/email-queue';
import type { Logger } from '#shared/logger';
import type { ApiDeps } from '../http/env';
import { composeApiDeps, type DepsOverrides } from './compose';
import { createBillingGateway } from './edges/billing';
import { sessionTokens } from './edges/sessions';
import { createStores, type Stores } from './stores';
import { unwired } from './unwired';

/**
 * The billing plane's dependencies (also the billing job's): Stripe, sessions for
 * `/account/billing`, and email for payment notices. It invokes no model.
 *
 * Its payment notices are queued in the main table by default (shared/email/email-queue.ts), and
 * the billing sync job sends them through SES: the plane's function carries no SES client. The
 * job passes its SES sender as `email`; the local runner and tests pass their outbox.
 */
export function createBillingPlaneDeps(
  config: Config,
  log: Logger,
  overrides: Omit<DepsOverrides, 'models'> = {},
): ApiDeps & { stores: Stores } {
  const stores = overrides.stores ?? createStores(config);
  return composeApiDeps(
    config,
    log,
    {
      models: unwired('the model client', 'billing'),
      email:
        overrides.email ??
        new QueuedEmailSender(stores.dynamo.doc, tableNames(config.STAGE).main, overrides.now),
      billingGateway: overrides.billingGateway ?? createBillingGateway(config),
      accessTokens: sessionTokens(config, overrides.signingKeys),
    },
    { ...overrides, stores },
  );
}
