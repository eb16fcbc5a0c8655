import type { Catalog } from '../catalog/types';
import type { BillingGateway, MeterSpec } from './billing';
import type { BillingStore } from './billing-store';
import { meterSpecs } from './meters';

export interface SetupReport {
  prices: { spec: MeterSpec; priceId: string; changes: string[] }[];
  /** Subscription items added or moved to a current price. */
  subscriptionItems: number;
  problems: string[];
}

/**
 * `npm run billing:setup`: makes the provider's meters, products and prices match the catalog,
 * idempotently (running it twice changes nothing the second time), records them for the sync and
 * Checkout, and puts every current online price on existing subscriptions (new model versions; a
 * new price book replaces the old price on its meter). Batch prices are made here too; one joins a
 * subscription when the sync first bills batch units at it (Stripe holds at most 20 prices on a
 * subscription: a batch twin of every online price would not fit).
 */
export async function setupBilling(d: {
  gateway: BillingGateway;
  store: BillingStore;
  catalog: Catalog;
  now: () => Date;
}): Promise<SetupReport> {
  const report: SetupReport = { prices: [], subscriptionItems: 0, problems: [] };
  if (d.gateway.mode === 'ledger') {
    report.problems.push('no STRIPE_SECRET_KEY: billing is ledger-only, there is nothing to set up');
    return report;
  }
  for (const spec of meterSpecs(d.catalog)) {
    const made = await d.gateway.provisionPrice(spec);
    if (!made.ok) {
      report.problems.push(`${spec.eventName}: ${made.kind}${'message' in made ? ` (${made.message})` : ''}`);
      continue;
    }
    await d.store.putPrice({
      model: spec.model,
      version: spec.version,
      unit: spec.unit,
      ...(spec.channel === 'batch' ? { channel: 'batch' as const } : {}),
      eventName: spec.eventName,
      displayName: spec.displayName,
      meterId: made.meterId,
      productId: made.productId,
      priceId: made.priceId,
      lookupKey: spec.lookupKey,
      unitAmountDecimal: spec.unitAmountDecimal,
      priceBook: spec.priceBook,
      updatedAt: d.now().toISOString(),
    });
    report.prices.push({ spec, priceId: made.priceId, changes: made.changes });
  }
  if (report.problems.length) return report;
  for (const account of await d.store.listAccounts()) {
    if (!account.subscriptionId || account.status === 'canceled') continue;
    // Batch prices join a subscription when the sync first bills batch units at them.
    for (const p of report.prices.filter((x) => x.spec.channel === 'online')) {
      const r = await d.gateway.ensureSubscriptionItem(account.subscriptionId, p.priceId);
      if (!r.ok) report.problems.push(`${account.subscriptionId} ${p.spec.eventName}: ${r.kind}`);
      else if (r.added) report.subscriptionItems++;
    }
  }
  return report;
}
