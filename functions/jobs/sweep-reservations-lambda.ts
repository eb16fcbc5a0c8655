import { loadConfig } from '../../shared/config';
import { createDynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { createLogger } from '../../shared/logger';
import { UsageStore } from '../../shared/metering/usage-store';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { sweepReservations } from './sweep-reservations';

// Only the quota and usage stores: the API's composition root would bring Stripe, SES and every
// other store into a bundle that runs once a minute.
const config = loadConfig(process.env);
const names = tableNames(config.STAGE);
const doc = createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }).doc;
const quotas = new QuotaStore(doc, names.main, names.usage);
const usage = new UsageStore(doc, names.usage);
const log = createLogger(config.LOG_LEVEL);

/**
 * EventBridge Scheduler target, once a minute: releases reservations of requests that never
 * settled, and closes the open usage records of streams whose writer is gone.
 */
export async function handler(): Promise<{ released: number; closed: number }> {
  const result = await sweepReservations(quotas, new Date(), usage);
  if (result.released > 0) log.warn(result, 'released expired quota reservations');
  if (result.closed > 0) log.warn(result, 'closed expired open usage records at their allowance');
  return result;
}
