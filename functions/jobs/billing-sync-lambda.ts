import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createBillingPlaneDeps } from '../api/planes/billing-deps';
import { environmentWithSecrets } from '../secrets';
import { billingSync } from './billing-sync';

// Built once per Lambda instance; every scheduled invocation reuses the clients. Stripe's keys
// come from the Stripe secret, read here once. The billing plane's wiring: no model client.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
const { billing } = createBillingPlaneDeps(config, log);

/** The EventBridge schedule's target: one billing run (meter sync, then the grace clock). */
export async function handler(): Promise<{ windows: number; events: number; complete: boolean }> {
  const result = await billingSync(billing, new Date());
  log.info(
    {
      tenants: result.tenants,
      windows: result.windows,
      events: result.events,
      complete: result.complete,
      problems: result.problems.length,
      suspended: result.suspended.length,
    },
    'billing sync',
  );
  return { windows: result.windows, events: result.events, complete: result.complete };
}
