import type { PlatformUsageStore } from './platform-usage';
import { type Channel, channelOf, type DailyUsage, type UsageStore } from './usage-store';

export interface AggregateDifference {
  /**
   * `daily`: a tenant x day x model version x key x channel aggregate; `month_total`: the tenant's
   * month total (online and batch together).
   */
  scope: 'daily' | 'month_total';
  /** The day, or the month for `month_total`. */
  day: string;
  model: string;
  version: string;
  keyId: string;
  /** The daily aggregate's channel (absent for `month_total`). */
  channel?: Channel;
  field: 'requests' | 'inputTokens' | 'outputTokens' | 'images' | 'costNanoUsd';
  fromEvents: number;
  stored: number;
}

export interface Reconciliation {
  tenantId: string;
  month: string;
  events: number;
  aggregates: number;
  differences: AggregateDifference[];
}

const FIELDS = ['requests', 'inputTokens', 'outputTokens', 'images', 'costNanoUsd'] as const;
/** Requests take at most the model timeout; an hour either side of the month catches every one served in it. */
const MARGIN_MS = 3_600_000;

/**
 * Recomputes a tenant's daily aggregates for a month (`2026-11`) from its usage events and reports
 * every difference from the stored aggregates (and, given the platform store, from the tenant's
 * month total that operators see). The events are the ledger; an empty list means the aggregates
 * (which billing and the consoles read) agree with it to the unit.
 */
export async function reconcileMonth(
  usage: UsageStore,
  tenantId: string,
  month: string,
  platform?: PlatformUsageStore,
): Promise<Reconciliation> {
  const start = Date.parse(`${month}-01T00:00:00.000Z`);
  if (Number.isNaN(start) || !/^\d{4}-\d{2}$/.test(month)) throw new RangeError(`not a month: ${month}`);
  const end = new Date(start);
  end.setUTCMonth(end.getUTCMonth() + 1);
  const events = (
    await usage.listEvents(tenantId, { from: start - MARGIN_MS, to: end.getTime() + MARGIN_MS })
  ).filter((e) => e.at.startsWith(month));
  const expected = new Map<string, DailyUsage>();
  for (const e of events) {
    const day = e.at.slice(0, 10);
    const channel = channelOf(e);
    const id = `${day}#${e.model}#${e.version}#${e.keyId}#${channel}`;
    const row = expected.get(id) ?? {
      day,
      model: e.model,
      version: e.version,
      keyId: e.keyId,
      channel,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      images: 0,
      costNanoUsd: 0,
    };
    row.requests += 1;
    row.inputTokens += e.units.input_tokens ?? 0;
    row.outputTokens += e.units.output_tokens ?? 0;
    row.images += e.units.images ?? 0;
    row.costNanoUsd += e.costNanoUsd;
    expected.set(id, row);
  }
  const lastDay = new Date(end.getTime() - 1).toISOString().slice(0, 10);
  const stored = await usage.listDaily(tenantId, `${month}-01`, lastDay);
  const storedById = new Map(
    stored.map((r) => [`${r.day}#${r.model}#${r.version}#${r.keyId}#${r.channel}`, r]),
  );
  const differences: AggregateDifference[] = [];
  for (const id of new Set([...expected.keys(), ...storedById.keys()])) {
    const want = expected.get(id);
    const have = storedById.get(id);
    const ref = (want ?? have)!;
    for (const field of FIELDS) {
      const a = want?.[field] ?? 0;
      const b = have?.[field] ?? 0;
      if (a !== b) {
        differences.push({
          scope: 'daily',
          day: ref.day,
          model: ref.model,
          version: ref.version,
          keyId: ref.keyId,
          channel: ref.channel,
          field,
          fromEvents: a,
          stored: b,
        });
      }
    }
  }
  if (platform) {
    const total = await platform.tenantMonth(tenantId, month);
    for (const field of FIELDS) {
      const fromEvents = [...expected.values()].reduce((sum, r) => sum + r[field], 0);
      if (fromEvents !== total[field]) {
        differences.push({
          scope: 'month_total',
          day: month,
          model: '*',
          version: '*',
          keyId: '*',
          field,
          fromEvents,
          stored: total[field],
        });
      }
    }
  }
  return { tenantId, month, events: events.length, aggregates: stored.length, differences };
}
