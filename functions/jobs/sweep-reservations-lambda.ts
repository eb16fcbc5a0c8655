import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createStores } from '../api/deps';
import { sweepReservations } from './sweep-reservations';

const config = loadConfig(process.env);
const stores = createStores(config);
const log = createLogger(config.LOG_LEVEL);

/** EventBridge Scheduler target, once a minute: releases reservations of requests that never settled. */
export async function handler(): Promise<{ released: number }> {
  const result = await sweepReservations(stores.quotas, new Date());
  if (result.released > 0) log.warn(result, 'released expired quota reservations');
  return result;
}
