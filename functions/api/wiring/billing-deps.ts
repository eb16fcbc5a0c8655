import type { Config } from '#shared/config';
import { tableNames } from '#shared/db/tables';
import { QueuedEmailSender } from '#shared/email/email-queue';
import type { Logger } from '#shared/logger';
import type { BillingPlaneDeps } from '../http/env';
import { accountDeps, billingParts, composeBase, type DepsOverrides } from './compose';
import { createBillingGateway } from './edges/billing';
import { sessionTokens } from './edges/sessions';
import type { Stores } from './stores';

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
): BillingPlaneDeps & { stores: Stores } {
  const base = composeBase(config, log, overrides);
  const accounts = accountDeps(base, {
    email:
      overrides.email ??
      new QueuedEmailSender(base.stores.dynamo.doc, tableNames(config.STAGE).main, overrides.now),
    accessTokens: sessionTokens(config, overrides.signingKeys),
  });
  return {
    ...base.core,
    stores: base.stores,
    accounts,
    billing: billingParts(base, accounts, overrides.billingGateway ?? createBillingGateway(config)),
  };
}
