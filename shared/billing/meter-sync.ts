import { createHash } from 'node:crypto';
import type { UsageEvent } from '../metering/usage-store';
import type { Tenant } from '../tenants/tenant-store';
import type { MeterEventInput } from './billing';
import type { BillingDeps } from './billing-deps';
import type { BillingAccount, PriceRecord, SyncState } from './billing-store';
import {
  allocate,
  eventsServedIn,
  type Included,
  includedFor,
  lineKey,
  monthBounds,
  monthOf,
  servedWithinMs,
  sumUnits,
} from './invoice-preview';

/**
 * The meter sync: usage from the ledger to the provider's meters, exactly once.
 *
 * Usage is sent in closed hourly windows (by when it was served), per tenant, in order. A window
 * [start, end) closes CLOSE_DELAY_MS after its end: every request served before `end` has its
 * usage event written by then. Each window gives one meter event per meter with billable units,
 * with the identifier `${tenantId}:${start}:${eventName}`: a rerun recomputes the same window from
 * the same (immutable) events and sends the same identifiers, which the provider drops as
 * duplicates. Each accepted event is noted on the cursor item, and the cursor moves past the
 * window only when all of its events were accepted, so neither a crash nor a failure at any point
 * loses usage or bills it twice (a crash between acceptance and the note is covered by the
 * provider's identifier dedupe, which holds at least 24 hours; a rerun comes within minutes).
 */
export const WINDOW_MS = 3_600_000;
export const CLOSE_DELAY_MS = 120_000;
/** Stripe keeps identifiers at most 100 characters. */
const MAX_IDENTIFIER = 100;

export interface SyncOptions {
  /** Windows one tenant may catch up per run (a run every minute clears a day's backlog in half an hour). */
  maxWindowsPerTenant?: number;
  /** Meter events in flight at once. */
  concurrency?: number;
  /** Attempts per meter event while the provider throttles or fails. */
  maxAttempts?: number;
  /** First back-off; it doubles with each attempt, with jitter, unless the provider says when. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Runs after the provider accepted an event and before it is noted: tests crash here. */
  afterAccepted?: (event: MeterEventInput) => void | Promise<void>;
}

export type SyncProblem = {
  tenantId: string;
  reason: 'no_price' | 'rejected' | 'unavailable' | 'throttled' | 'raced';
  message: string;
};

export interface SyncReport {
  tenants: number;
  windows: number;
  events: number;
  /** Every closed window of every tenant was sent. */
  complete: boolean;
  problems: SyncProblem[];
  /**
   * Minutes since the oldest closed window still unsent (of the tenants this run reached) closed;
   * 0 when all of them are caught up. The `BillingSyncLagMinutes` metric.
   */
  lagMinutes: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function meterIdentifier(tenantId: string, windowStart: number, eventName: string): string {
  const id = `${tenantId}:${windowStart}:${eventName}`;
  if (id.length <= MAX_IDENTIFIER) return id;
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 32);
  return `${tenantId}:${windowStart}:${digest}`;
}

/** Sends every tenant's closed windows. Does nothing without a provider (ledger-only mode). */
export async function syncUsage(d: BillingDeps, now: Date, opts: SyncOptions = {}): Promise<SyncReport> {
  const report: SyncReport = {
    tenants: 0,
    windows: 0,
    events: 0,
    complete: true,
    problems: [],
    lagMinutes: 0,
  };
  if (d.gateway.mode === 'ledger') return report;
  const prices = new Map((await d.store.listPrices()).map((p) => [lineKey(p.model, p.version, p.unit), p]));
  for (const account of await d.store.listAccounts()) {
    if (!account.customerId || account.billedFromMs === null) continue;
    const tenant = await d.tenants.get(account.tenantId);
    if (!tenant) continue;
    report.tenants++;
    const out = await syncTenant(d, account, tenant, prices, now, opts);
    report.windows += out.windows;
    report.events += out.events;
    if (out.problem) {
      report.problems.push(out.problem);
      d.log.error({ ...out.problem }, 'billing sync stopped for a tenant');
      // Throttling is account-wide: the next tenants would be throttled too.
      if (out.problem.reason === 'throttled') break;
    }
    if (!out.caughtUp) {
      report.complete = false;
      // One read per tenant left behind: where its cursor stopped.
      const cursor = (await d.store.getSync(tenant.id))?.cursorMs;
      if (cursor !== undefined) {
        const end = Math.min(
          Math.floor(cursor / WINDOW_MS) * WINDOW_MS + WINDOW_MS,
          account.billedUntilMs ?? Infinity,
        );
        const closedFor = now.getTime() - (end + CLOSE_DELAY_MS);
        if (end > cursor && closedFor > 0)
          report.lagMinutes = Math.max(report.lagMinutes, closedFor / 60_000);
      }
    }
  }
  if (report.problems.length) report.complete = false;
  return report;
}

interface TenantOutcome {
  windows: number;
  events: number;
  caughtUp: boolean;
  problem?: SyncProblem;
}

async function syncTenant(
  d: BillingDeps,
  account: BillingAccount,
  tenant: Tenant,
  prices: Map<string, PriceRecord>,
  now: Date,
  opts: SyncOptions,
): Promise<TenantOutcome> {
  const out: TenantOutcome = { windows: 0, events: 0, caughtUp: false };
  const late = servedWithinMs(d.config.MODEL_TIMEOUT_MS);
  const closedBefore = now.getTime() - CLOSE_DELAY_MS;
  const until = account.billedUntilMs ?? Number.POSITIVE_INFINITY;
  const included = includedFor(await d.plans.get(tenant.plan), tenant);

  let state = await d.store.getSync(tenant.id);
  if (!state) {
    await d.store.startSync(tenant.id, account.billedFromMs!);
    state = (await d.store.getSync(tenant.id))!;
  }
  if (state.cursorMs < account.billedFromMs!) {
    // A new subscription after a gap: the gap was not subscribed, so it is skipped, never billed.
    const moved = await d.store.advance(tenant.id, state.cursorMs, {
      cursorMs: account.billedFromMs!,
      month: '',
      includedUsed: {},
    });
    if (!moved) return { ...out, problem: raced(tenant.id) };
    state = { ...state, cursorMs: account.billedFromMs!, month: '', includedUsed: {}, sent: [] };
  }

  const chunk = new EventChunk(d, tenant.id, late);
  const max = opts.maxWindowsPerTenant ?? 48;
  while (out.windows < max) {
    const start = state.cursorMs;
    const end = Math.min(Math.floor(start / WINDOW_MS) * WINDOW_MS + WINDOW_MS, until);
    if (end <= start || end > closedBefore) {
      out.caughtUp = true;
      return out;
    }
    const events = await chunk.served(start, end, Math.min(closedBefore, until));
    const month = monthOf(start);
    const usedBefore =
      state.month === month
        ? state.includedUsed
        : sumUnits(await eventsServedIn(d.usage, tenant.id, monthBounds(month).start, start, late));
    const planned = planWindow(tenant.id, account.customerId!, start, events, included, usedBefore, prices);
    if ('problem' in planned) return { ...out, problem: planned.problem };
    const pending = planned.events.filter((e) => !state!.sent.includes(e.eventName));
    const sent = await sendAll(d, tenant.id, start, pending, opts);
    out.events += sent.accepted;
    if (sent.problem) return { ...out, problem: sent.problem };
    // Quiet hours cost nothing: past an empty window the cursor jumps to the next window with usage.
    const to = events.length === 0 ? Math.max(end, chunk.quietUntil(end)) : end;
    const sameMonth = monthOf(to - 1) === month;
    const next = {
      cursorMs: to,
      month: sameMonth ? month : '',
      includedUsed: sameMonth ? planned.usedAfter : {},
    };
    if (!(await d.store.advance(tenant.id, start, next))) return { ...out, problem: raced(tenant.id) };
    state = { tenantId: tenant.id, ...next, sent: [] };
    out.windows++;
  }
  return out;
}

function raced(tenantId: string): SyncProblem {
  return { tenantId, reason: 'raced', message: 'another sync run moved the cursor; it carries on' };
}

/** The meter events of one window, or why it cannot be sent. */
function planWindow(
  tenantId: string,
  customerId: string,
  start: number,
  events: UsageEvent[],
  included: Included,
  usedBefore: SyncState['includedUsed'],
  prices: Map<string, PriceRecord>,
): { events: MeterEventInput[]; usedAfter: SyncState['includedUsed'] } | { problem: SyncProblem } {
  const { lines, usedAfter } = allocate(events, included, usedBefore);
  const out: MeterEventInput[] = [];
  for (const [key, line] of lines) {
    if (line.billable <= 0) continue;
    const price = prices.get(key);
    if (!price) {
      return {
        problem: {
          tenantId,
          reason: 'no_price',
          message: `no Stripe meter for ${line.model}@${line.version} ${line.unit}: run \`npm run billing:setup\``,
        },
      };
    }
    out.push({
      eventName: price.eventName,
      customerId,
      value: line.billable,
      identifier: meterIdentifier(tenantId, start, price.eventName),
      timestamp: Math.floor(start / 1000),
    });
  }
  return { events: out.sort((a, b) => a.eventName.localeCompare(b.eventName)), usedAfter };
}

/** Sends a window's events, a few at a time, pacing on throttling; stops at the first lasting failure. */
async function sendAll(
  d: BillingDeps,
  tenantId: string,
  windowStart: number,
  events: MeterEventInput[],
  opts: SyncOptions,
): Promise<{ accepted: number; problem?: SyncProblem }> {
  const sleep = opts.sleep ?? defaultSleep;
  const maxAttempts = opts.maxAttempts ?? 5;
  const backoff = opts.backoffMs ?? 500;
  let accepted = 0;
  let problem: SyncProblem | undefined;
  const queue = [...events];
  const worker = async () => {
    while (!problem) {
      const event = queue.shift();
      if (!event) return;
      for (let attempt = 1; ; attempt++) {
        const r = await d.gateway.sendMeterEvent(event);
        if (r.ok) {
          await opts.afterAccepted?.(event);
          if (!(await d.store.markSent(tenantId, windowStart, event.eventName))) {
            problem ??= raced(tenantId);
            return;
          }
          accepted++;
          break;
        }
        if (r.kind === 'not_connected' || r.kind === 'rejected') {
          problem ??= {
            tenantId,
            reason: 'rejected',
            message: r.kind === 'rejected' ? r.message : 'not connected',
          };
          return;
        }
        if (attempt >= maxAttempts) {
          problem ??= {
            tenantId,
            reason: r.kind,
            message: r.kind === 'unavailable' ? r.message : 'still throttled after backing off',
          };
          return;
        }
        const wait =
          r.kind === 'throttled' && r.retryAfterMs !== undefined
            ? r.retryAfterMs
            : backoff * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        await sleep(wait);
        if (problem) return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  return { accepted, problem };
}

/**
 * Usage events read a day at a time and handed out per window: one Query per day of backlog
 * instead of one per hour.
 */
class EventChunk {
  private from = 0;
  private to = 0;
  private events: UsageEvent[] = [];

  constructor(
    private readonly d: BillingDeps,
    private readonly tenantId: string,
    private readonly late: number,
  ) {}

  async served(start: number, end: number, limit: number): Promise<UsageEvent[]> {
    if (start < this.from || end > this.to) {
      this.from = start;
      this.to = Math.max(end, Math.min(start + 24 * WINDOW_MS, limit));
      this.events = await eventsServedIn(this.d.usage, this.tenantId, this.from, this.to, this.late);
    }
    const a = new Date(start).toISOString();
    const b = new Date(end).toISOString();
    return this.events.filter((e) => e.at >= a && e.at < b);
  }

  /** The start of the first window after `from` that has usage, as far as this chunk knows. */
  quietUntil(from: number): number {
    const a = new Date(from).toISOString();
    const next = this.events.find((e) => e.at >= a);
    const bound = next ? Date.parse(next.at) : this.to;
    return Math.floor(bound / WINDOW_MS) * WINDOW_MS;
  }
}
