import type { BillingUnit } from '../catalog/types';

export type Units = Partial<Record<BillingUnit, number>>;

/** Exact cost in nano-USD: integer units times integer nano-USD prices, no rounding anywhere. */
export function costNanoUsd(units: Units, prices: Partial<Record<BillingUnit, number>>): number {
  let total = 0;
  for (const [unit, count] of Object.entries(units) as [BillingUnit, number][]) {
    total += count * (prices[unit] ?? 0);
  }
  if (!Number.isSafeInteger(total)) throw new RangeError('cost exceeds the exact integer range');
  return total;
}

/** nano-USD as a decimal USD string with all nine places kept (`"0.000012300"`). */
export function formatUsd(nano: number): string {
  const sign = nano < 0 ? '-' : '';
  const abs = Math.abs(nano);
  const whole = Math.floor(abs / 1e9);
  const frac = String(abs % 1e9).padStart(9, '0');
  return `${sign}${whole}.${frac}`;
}
