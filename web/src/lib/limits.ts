/**
 * Limit fields as operators edit them (a tenant's overrides, a plan): the wire's names, which are
 * also what an error's `param` names, and the patch a box's text becomes.
 */
import type { BillingUnit } from './types';

export const limitParams: { param: string; label: string; money?: boolean }[] = [
  { param: 'requests_per_minute', label: 'Requests / minute' },
  { param: 'tokens_per_minute', label: 'Tokens / minute' },
  { param: 'max_concurrent', label: 'Requests in flight' },
  { param: 'spend_cap_usd', label: 'Monthly spend cap (USD)', money: true },
  { param: 'included.input_tokens', label: 'Included input tokens / month' },
  { param: 'included.output_tokens', label: 'Included output tokens / month' },
  { param: 'included.images', label: 'Included images / month' },
];

type LimitValues = {
  requests_per_minute?: number | null;
  tokens_per_minute?: number | null;
  max_concurrent?: number | null;
  spend_cap_usd?: string | null;
  included?: Partial<Record<BillingUnit, number>>;
};

/** One field's value out of a plan or an overrides object (`included.images` reads the nested one). */
export function valueAt(v: LimitValues, param: string): string | number | null | undefined {
  const [head, sub] = param.split('.');
  if (sub) return v.included?.[sub as BillingUnit];
  return v[head as Exclude<keyof LimitValues, 'included'>];
}

/** What a box holds, as the API wants it: a number when it reads as one, else the text (the API says what is wrong). */
export function wire(text: string, money?: boolean): string | number | null {
  const t = text.trim();
  if (t === '') return null;
  if (money) return t;
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

/** `included.images: 5` as `{ included: { images: 5 } }`. */
export function patchOf(param: string, v: string | number | null): Record<string, unknown> {
  const [head, sub] = param.split('.');
  return sub ? { [head!]: { [sub]: v } } : { [head!]: v };
}

/** Two patches as one (the nested `included` objects merged). */
export function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] =
      v && typeof v === 'object' && out[k] && typeof out[k] === 'object'
        ? { ...(out[k] as object), ...(v as object) }
        : v;
  }
  return out;
}

/** A value for a box; money without the API's trailing zeros ("25.000000000" as "25"). */
export function asText(v: string | number | null | undefined): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /^\d+\.\d+$/.test(s) ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
