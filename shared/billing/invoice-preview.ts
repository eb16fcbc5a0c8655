import { batchPrices } from '../catalog/batch-prices';
import type { BillingUnit, Catalog } from '../catalog/types';
import type { Units } from '../metering/pricing';
import { type Channel, channelOf, type UsageEvent, type UsageStore } from '../metering/usage-store';
import type { Plan } from '../quotas/plans';
import type { Tenant } from '../tenants/tenant-store';
import { BILLING_UNITS, meterDisplayName } from './meters';

/**
 * Included units: a plan's `included` units are per calendar month (UTC) and per unit type, across
 * every model. They are consumed by the month's usage in the order it was served (time, then
 * request id), whatever the plan was at the time; only what lies beyond them is billed. The sync
 * sends only billable units to the meters, so Stripe's invoice and this preview are computed by
 * the same rule from the same ledger, and the subscription's description says so on the invoice.
 */
export type Included = Partial<Record<BillingUnit, number>> | 'everything';

/**
 * One line of usage: a model version's unit, online or batch, with what was used, included and
 * billable. Batch lines are lines of their own, at the batch price.
 */
export interface UsageLine {
  model: string;
  version: string;
  unit: BillingUnit;
  channel: Channel;
  used: number;
  included: number;
  billable: number;
}

/** What a plan includes for a tenant: everything on plans that stop instead of billing (free). */
export function includedFor(plan: Plan | undefined, tenant: Pick<Tenant, 'limitOverrides'>): Included {
  if (plan?.overage !== 'bill') return 'everything';
  return { ...plan.included, ...tenant.limitOverrides?.included };
}

/** The order usage consumes included units in: when it was served, then request id. */
export function servedOrder(a: UsageEvent, b: UsageEvent): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.requestId < b.requestId ? -1 : 1;
}

/** A line's key: a model version's unit, and `batch` after it for batch lines. */
export function lineKey(model: string, version: string, unit: string, channel: Channel = 'online'): string {
  return `${model}\u0000${version}\u0000${unit}${channel === 'batch' ? '\u0000batch' : ''}`;
}

/**
 * Splits events (in served order) into included and billable units, given what the month used
 * before them. Included units are consumed by online calls and batch lines alike, in served order;
 * each channel's units are lines of their own. Pure and deterministic: the same events and `usedBefore` always give the same lines.
 */
export function allocate(
  events: UsageEvent[],
  included: Included,
  usedBefore: Units,
): { lines: Map<string, UsageLine>; usedAfter: Units } {
  const used: Units = { ...usedBefore };
  const lines = new Map<string, UsageLine>();
  for (const e of events) {
    for (const unit of BILLING_UNITS) {
      const count = e.units[unit] ?? 0;
      if (count <= 0) continue;
      const before = used[unit] ?? 0;
      const allowance = included === 'everything' ? Number.POSITIVE_INFINITY : (included[unit] ?? 0);
      const free = Math.min(count, Math.max(0, allowance - before));
      used[unit] = before + count;
      const channel = channelOf(e);
      const key = lineKey(e.model, e.version, unit, channel);
      const line = lines.get(key) ?? {
        model: e.model,
        version: e.version,
        unit,
        channel,
        used: 0,
        included: 0,
        billable: 0,
      };
      line.used += count;
      line.included += free;
      line.billable += count - free;
      lines.set(key, line);
    }
  }
  return { lines, usedAfter: used };
}

/** Units per type summed over events. */
export function sumUnits(events: UsageEvent[]): Units {
  const total: Units = {};
  for (const e of events) {
    for (const unit of BILLING_UNITS) {
      const n = e.units[unit] ?? 0;
      if (n) total[unit] = (total[unit] ?? 0) + n;
    }
  }
  return total;
}

/**
 * How long after a request starts its usage event can be written: the model's timeout plus a wide
 * margin for what happens before and after the call. Events are keyed by the request's start, but
 * billed by when they were served (`at`), like the daily aggregates.
 */
export function servedWithinMs(modelTimeoutMs: number): number {
  return modelTimeoutMs + 15 * 60_000;
}

/** Usage events served (by `at`) in [fromMs, toMs), in served order. */
export async function eventsServedIn(
  usage: UsageStore,
  tenantId: string,
  fromMs: number,
  toMs: number,
  lateMs: number,
): Promise<UsageEvent[]> {
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  const events = await usage.listEvents(tenantId, { from: fromMs - lateMs, to: toMs });
  return events.filter((e) => e.at >= from && e.at < to).sort(servedOrder);
}

export function monthBounds(month: string): { start: number; end: number } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) };
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export interface PreviewLine extends UsageLine {
  description: string;
  /** nano-USD per unit, from the catalog (its batch price for a batch line). */
  unitPriceNanoUsd: number;
  /** Exact: billable units x unit price. */
  amountNanoUsd: number;
  /** What the invoice line will say: Stripe rounds each line to the cent. */
  amountCents: number;
}

export interface InvoicePreview {
  month: string;
  periodStart: string;
  periodEnd: string;
  included: Included;
  lines: PreviewLine[];
  subtotalNanoUsd: number;
  totalCents: number;
}

/** Half up, like an invoice line. */
export function nanoUsdToCents(nano: number): number {
  return Math.floor((nano + 5_000_000) / 10_000_000);
}

/**
 * The invoice the ledger says a month will bring, from the month's usage events: each model
 * version's unit on its own line (online lines, then batch lines at the batch price), with the
 * included units taken out by the same rule the sync uses. Reads one Query of the month's events
 * (the current month is the usual case).
 */
export async function previewInvoice(
  d: { usage: UsageStore; catalog: Catalog; modelTimeoutMs: number },
  tenant: Pick<Tenant, 'id' | 'limitOverrides'>,
  plan: Plan | undefined,
  month: string,
): Promise<InvoicePreview> {
  const { start, end } = monthBounds(month);
  const events = await eventsServedIn(d.usage, tenant.id, start, end, servedWithinMs(d.modelTimeoutMs));
  const included = includedFor(plan, tenant);
  const { lines } = allocate(events, included, {});
  const out: PreviewLine[] = [];
  let subtotal = 0;
  let cents = 0;
  // Online lines first, then batch lines, each by model version and unit.
  const order = (l: UsageLine) => `${l.channel === 'batch' ? 1 : 0}${lineKey(l.model, l.version, l.unit)}`;
  for (const line of [...lines.values()].sort((a, b) => order(a).localeCompare(order(b)))) {
    const version = d.catalog.models.get(line.model)?.versions.get(line.version);
    const prices = version && line.channel === 'batch' ? batchPrices(version) : version?.prices;
    const price = prices?.[line.unit] ?? 0;
    const amount = line.billable * price;
    const lineCents = nanoUsdToCents(amount);
    subtotal += amount;
    cents += lineCents;
    out.push({
      ...line,
      description: meterDisplayName(line.model, line.version, line.unit, line.channel),
      unitPriceNanoUsd: price,
      amountNanoUsd: amount,
      amountCents: lineCents,
    });
  }
  return {
    month,
    periodStart: new Date(start).toISOString(),
    periodEnd: new Date(end).toISOString(),
    included,
    lines: out,
    subtotalNanoUsd: subtotal,
    totalCents: cents,
  };
}
