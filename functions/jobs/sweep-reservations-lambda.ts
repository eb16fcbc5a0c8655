import { loadConfig } from '../../shared/config';
import { createDynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { createLogger } from '../../shared/logger';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { sweepReservations } from './sweep-reservations';

// Only the quota store: the API's composition root would bring Stripe, SES and every other store
// into a bundle that runs once a minute.
const config = loadConfig(process.env);
const names = tableNames(config.STAGE);
const quotas = new QuotaStore(
  createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }).doc,
  names.main,
  names.usage,
);
const log = createLogger(config.LOG_LEVEL);

/** EventBridge Scheduler target, once a minute: releases reservations of requests that never settled. */
export async function handler(): Promise<{ released: number }> {
  const result = await sweepReservations(quotas, new Date());
  if (result.released > 0) log.warn(result, 'released expired quota reservations');
  return result;
}
