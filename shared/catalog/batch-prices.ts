import type { BillingUnit, ModelVersion } from './types';

/** Batch lines cost this share of the online price unless an operator set the version's batch prices. */
export const DEFAULT_BATCH_DISCOUNT = 0.5;

/** A version's batch prices: the operator's, else half the online prices, rounded down to a whole nano-USD. */
export function batchPrices(
  version: Pick<ModelVersion, 'prices' | 'batchPrices'>,
): Partial<Record<BillingUnit, number>> {
  if (version.batchPrices) return version.batchPrices;
  const prices: Partial<Record<BillingUnit, number>> = {};
  for (const [unit, price] of Object.entries(version.prices) as [BillingUnit, number][]) {
    prices[unit] = Math.floor(price * DEFAULT_BATCH_DISCOUNT);
  }
  return prices;
}
