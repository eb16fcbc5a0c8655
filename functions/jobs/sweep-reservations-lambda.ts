import { loadConfig } from '../../shared/config';
import { CreditNotices } from '../../shared/credits/credit-notices';
import { createDynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { QueuedEmailSender } from '../../shared/email/email-queue';
import { createLogger } from '../../shared/logger';
import { UsageStore } from '../../shared/metering/usage-store';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { TenantStore } from '../../shared/tenants/tenant-store';
import { sweepReservations } from './sweep-reservations';

// Only the quota and usage stores: the API's composition root would bring Stripe, SES and every
// other store into a bundle that runs once a minute.
const config = loadConfig(process.env);
const names = tableNames(config.STAGE);
const doc = createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }).doc;
const quotas = new QuotaStore(
  doc,
  names.main,
  names.usage,
  config.MODEL_TIMEOUT_MS + config.RESERVATION_GRACE_MS,
);
const usage = new UsageStore(doc, names.usage);
// Low-balance emails are queued in the main table (no SES client here); the billing sync sends them.
const lowBalance = {
  notices: new CreditNotices(quotas.credits, new QueuedEmailSender(doc, names.main), {
    publicUrl: config.PUBLIC_URL,
  }),
  tenants: new TenantStore(doc, names.main),
};
const log = createLogger(config.LOG_LEVEL);

/**
 * EventBridge Scheduler target, once a minute: releases reservations of requests that never
 * settled, closes the open usage records of streams whose writer is gone, brings prepaid
 * tenants' credit ledgers up to date and tells owners whose balance crossed a low-balance alert.
 */
export async function handler(): Promise<Awaited<ReturnType<typeof sweepReservations>>> {
  const result = await sweepReservations(quotas, new Date(), usage, lowBalance);
  if (result.released > 0) log.warn(result, 'released expired quota reservations');
  if (result.closed > 0) log.warn(result, 'closed expired open usage records at their allowance');
  if (result.creditFailures > 0)
    log.error(result, 'credit ledgers not brought up to date; the next sweep retries');
  return result;
}
