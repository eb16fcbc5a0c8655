import type { BillingUnit, ModelDefinition, ModelVersion } from './types';

/** A catalog change refused, and why. */
export type AdminFailure = {
  ok: false;
  /** `not_found`: no such model or version. `conflict`: the catalog's state forbids it. `invalid`: bad values. */
  reason: 'not_found' | 'conflict' | 'invalid';
  message: string;
  param?: string;
};

/** The catalog's naming and pricing rules, shared by every operator change. */
export const MODEL_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const VERSION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const fail = (reason: AdminFailure['reason'], message: string, param?: string): AdminFailure => ({
  ok: false,
  reason,
  message,
  ...(param ? { param } : {}),
});

export function checkVersion(model: ModelDefinition, v: ModelVersion): AdminFailure | undefined {
  if (!VERSION_ID_RE.test(v.version))
    return fail('invalid', 'Version ids are A-Z, a-z, 0-9, ., _ and -.', 'version');
  if (model.aliases[v.version] !== undefined) {
    return fail('conflict', `'${v.version}' is already an alias of '${model.name}'.`, 'version');
  }
  if (v.status !== 'preview' && v.status !== 'active') {
    return fail('invalid', 'A new version starts as preview or active.', 'status');
  }
  if (!v.endpointName || !v.variant)
    return fail('invalid', 'endpoint_name and variant are required.', 'endpoint_name');
  return checkPrices(model, v.prices);
}

export function checkPrices(
  model: ModelDefinition,
  prices: Partial<Record<string, number>>,
): AdminFailure | undefined {
  for (const [unit, price] of Object.entries(prices)) {
    if (!model.units.includes(unit as BillingUnit)) {
      return fail(
        'invalid',
        `'${model.name}' is not billed by ${unit} (it bills ${model.units.join(', ')}).`,
        `prices.${unit}`,
      );
    }
    if (!Number.isSafeInteger(price) || (price as number) < 0) {
      return fail('invalid', 'Prices are whole nano-USD per unit, 0 or more.', `prices.${unit}`);
    }
  }
  for (const unit of model.units) {
    if (prices[unit] === undefined)
      return fail('invalid', `A price per ${unit} is required.`, `prices.${unit}`);
  }
  return undefined;
}
