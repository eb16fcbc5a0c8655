import { batchPrices } from '../catalog/batch-prices';
import type { BillingUnit, Catalog } from '../catalog/types';
import type { Channel } from '../metering/usage-store';
import type { MeterSpec } from './billing';

/**
 * Meter granularity: one meter (and one price) per model version and unit, so an invoice reads
 * "Chat tiny-1 — output tokens: 1,204,311 × $0.00000015" and the tenant recognises every line.
 * Folding versions into one meter per unit would need the meter to carry money instead of units.
 *
 * Batch lines have meters and prices of their own (`..._batch`, "... (batch)", at the version's
 * batch price), so an invoice shows them apart at their price. A Stripe price is tied to one meter
 * and prices every unit it counts at one amount (it cannot price by a meter event's dimension),
 * so a second price at the batch amount needs a second meter.
 */

const UNIT_WORDS: Record<BillingUnit, string> = {
  input_tokens: 'input tokens',
  output_tokens: 'output tokens',
  images: 'images',
};

export const BILLING_UNITS: BillingUnit[] = ['input_tokens', 'output_tokens', 'images'];

/** `image-moderation` -> `Image moderation`, `ocr` -> `OCR`: a model name as a person writes it. */
function modelWords(model: string): string {
  if (model.length <= 3) return model.toUpperCase();
  const words = model.replace(/[-_]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Stripe's ids and event names: letters, digits, `_` and `-` are safe everywhere. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * `tg_chat_tiny-1_output_tokens` (`..._batch` for batch lines): the meter's event name and the
 * product's id. The unit (or `_batch` after it) always ends the name, so the two never collide.
 */
export function meterEventName(
  model: string,
  version: string,
  unit: BillingUnit,
  channel: Channel = 'online',
): string {
  return `tg_${slug(model)}_${slug(version)}_${unit}${channel === 'batch' ? '_batch' : ''}`;
}

/** "Chat tiny-1 — output tokens", "Image moderation inception-v3 — images", "... (batch)". */
export function meterDisplayName(
  model: string,
  version: string,
  unit: BillingUnit,
  channel: Channel = 'online',
): string {
  return `${modelWords(model)} ${version} — ${UNIT_WORDS[unit]}${channel === 'batch' ? ' (batch)' : ''}`;
}

export function unitWords(unit: BillingUnit): string {
  return UNIT_WORDS[unit];
}

/**
 * nano-USD per unit as cents per unit, exactly, as the decimal string Stripe's
 * `unit_amount_decimal` takes (at most 12 decimal places; this gives at most 7).
 */
export function nanoUsdToCentsDecimal(nano: number): string {
  if (!Number.isSafeInteger(nano) || nano < 0) throw new RangeError(`not a price: ${nano}`);
  const digits = String(nano).padStart(8, '0');
  const whole = digits.slice(0, -7).replace(/^0+(?=\d)/, '');
  const frac = digits.slice(-7).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

/**
 * The specs of every billable unit of every version that can still be called: online at its
 * price, and batch at its batch price (the operator's, else half the online price).
 */
export function meterSpecs(catalog: Catalog): MeterSpec[] {
  const specs: MeterSpec[] = [];
  const versions = [...catalog.models.values()].flatMap((entry) =>
    [...entry.versions.values()].map((v) => ({ v, units: entry.model.units })),
  );
  for (const { v, units } of versions) {
    if (v.status === 'retired') continue;
    const batch = batchPrices(v);
    for (const channel of ['online', 'batch'] as const) {
      for (const unit of units) {
        const price = channel === 'batch' ? batch[unit] : v.prices[unit];
        if (price === undefined) continue;
        const eventName = meterEventName(v.model, v.version, unit, channel);
        specs.push({
          model: v.model,
          version: v.version,
          unit,
          channel,
          eventName,
          displayName: meterDisplayName(v.model, v.version, unit, channel),
          productId: eventName,
          lookupKey: `${eventName}@${v.priceBook}`,
          unitAmountDecimal: nanoUsdToCentsDecimal(price),
          priceBook: v.priceBook,
        });
      }
    }
  }
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.eventName)) throw new Error(`two catalog entries map to the meter ${s.eventName}`);
    names.add(s.eventName);
  }
  return specs;
}
