import type { BillingUnit } from '../catalog/types';

/** nano-USD in one USD: money is integer nano-USD everywhere inside. */
export const NANO_PER_USD = 1_000_000_000;

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

const USD_RE = /^(\d{1,12})(?:\.(\d{1,9}))?$/;

/**
 * An amount of USD (a number, or a decimal string like `"25.50"`) as exact integer nano-USD;
 * null when it is negative, has more than nine decimal places, or is too large to be exact.
 */
export function usdToNano(value: number | string): number | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    text = value.toFixed(9);
    // More places than nine: toFixed rounded them away.
    if (Number(text) !== value) return null;
    text = text.replace(/\.?0+$/, '') || '0';
  } else text = value.trim();
  const m = USD_RE.exec(text);
  if (!m) return null;
  const nano = Number(m[1]) * NANO_PER_USD + Number((m[2] ?? '').padEnd(9, '0'));
  return Number.isSafeInteger(nano) ? nano : null;
}
