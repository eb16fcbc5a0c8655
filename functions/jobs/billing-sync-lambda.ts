import { loadConfig } from '../../shared/config';
import { tableNames } from '../../shared/db/tables';
import { sendQueuedEmails } from '../../shared/email/email-queue';
import { createLogger } from '../../shared/logger';
import { createBillingPlaneDeps } from '../api/wiring/billing-deps';
import { sesEmail } from '../api/wiring/edges/email';
import { environmentWithSecrets } from '../secrets';
import { billingSync } from './billing-sync';

// Built once per Lambda instance; every scheduled invocation reuses the clients. Stripe's keys
// come from the Stripe secret, read here once. The billing plane's wiring, with SES: this job
// sends its own notices and the ones the billing plane queued.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
const email = sesEmail(config);
const { billing, stores } = createBillingPlaneDeps(config, log, { email });
const mainTable = tableNames(config.STAGE).main;

/** Sends what the billing plane queued; a failure here is logged, never the run's result. */
const sendQueued = () =>
  sendQueuedEmails(stores.dynamo.doc, mainTable, email, log).catch((err: unknown) => {
    log.error({ err }, 'queued emails not sent; kept for the next run');
    return { sent: 0, failed: 0, dropped: 0 };
  });

/**
 * The EventBridge schedule's target: one billing run (meter sync, then the grace clock), then the
 * queued notices, which are sent even when the sync fails (its error still fails the run).
 */
export async function handler(): Promise<{
  windows: number;
  events: number;
  complete: boolean;
  emails: number;
}> {
  const result = await billingSync(billing, new Date()).catch(async (err: unknown) => {
    await sendQueued();
    throw err;
  });
  const emails = await sendQueued();
  log.info(
    {
      tenants: result.tenants,
      windows: result.windows,
      events: result.events,
      complete: result.complete,
      problems: result.problems.length,
      suspended: result.suspended.length,
      emails,
    },
    'billing sync',
  );
  return { windows: result.windows, events: result.events, complete: result.complete, emails: emails.sent };
}
