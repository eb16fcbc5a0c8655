import { createHash, randomUUID } from 'node:crypto';
import type { UsageEvent } from '../metering/usage-store';
import type { Tenant } from '../tenants/tenant-store';
import type { MeterEventInput } from './billing';
import { type BillingDeps, FREE_PLAN } from './billing-deps';
import type { BillingAccount, PriceRecord, SyncState, SyncWalk } from './billing-store';
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
/** How long the walk's lease outlives a run's deadline: a run stops before it, so this is slack only. */
const LEASE_SLACK_MS = 30_000;
/** The lease of a run given no deadline (the whole walk at once, as tests and one-off runs do). */
const UNBOUNDED_LEASE_MS = 15 * 60_000;

export interface SyncOptions {
  /**
   * Windows one tenant may send per visit (a day's backlog); past it the walk moves on and the
   * tenant carries on at the next walk, so one tenant's backlog cannot hold back the others.
   */
  maxWindowsPerTenant?: number;
  /** Meter events in flight at once, across the whole run. */
  concurrency?: number;
  /** Tenants synced at once. */
  tenantConcurrency?: number;
  /** Billing accounts read per page of the walk. */
  pageSize?: number;
  /** Attempts per meter event while the provider throttles or fails. */
  maxAttempts?: number;
  /** First back-off; it doubles with each attempt, with jitter, unless the provider says when. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Runs after the provider accepted an event and before it is noted: tests crash here. */
  afterAccepted?: (event: MeterEventInput) => void | Promise<void>;
  /**
   * When the run must be over (wall clock, ms since the epoch). The run starts no window it may
   * not finish by then, leaves a provider call still unanswered then (as a crash would: the window
   * is resent with the same identifiers), saves where the walk stopped and gives up the lease.
   * In Lambda: the invocation's remaining time less a margin. Without one, a run walks to the end.
   */
  deadlineMs?: number;
  /** Kept back before the deadline for saving the walk and giving up the lease. */
  finishReserveMs?: number;
  /** The wall clock the deadline and the lease are read on (the sync's `now` is the billing clock). */
  clock?: () => number;
  /** This run's name on the walk's lease (by default a random one). */
  runId?: string;
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
  /**
   * The walk reached its end in this run, and no tenant it passed (in this run or the runs before,
   * since it started) was left with a closed window unsent: every closed window was sent.
   */
  complete: boolean;
  /** Why this run stopped before the end of the walk: its deadline, throttling, or another run holds the walk. */
  stopped: 'deadline' | 'throttled' | 'leased' | null;
  /** Where the walk now stands: the last tenant it finished ('' when the next run starts from the beginning). */
  cursor: string;
  problems: SyncProblem[];
  /**
   * Minutes since the instant before which every closed window is known to be sent (see
   * `walkLagMinutes`): 0 right after a complete walk that left nobody behind. The
   * `BillingSyncLagMinutes` metric.
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

/**
 * How far behind the sync is, in minutes, at `now`, read from the walk: every window that closed
 * before the last complete walk's `syncedBeforeMs` is in the provider (each tenant was visited after
 * that walk started and either caught up or left behind from a window that closed later, which
 * lowered it). Before any walk completed, nothing is vouched for since the first one started.
 * Honest rather than exact: a walk that always completes within a run reads 0 to a few minutes;
 * a walk that cannot finish, or a tenant stuck on a problem, grows it run after run.
 */
export function walkLagMinutes(
  walk: Pick<SyncWalk, 'syncedBeforeMs' | 'startedAtMs'> | undefined,
  now: Date,
): number {
  const since = walk?.syncedBeforeMs ?? walk?.startedAtMs ?? now.getTime();
  return Math.max(0, now.getTime() - since) / 60_000;
}

/**
 * One run of the meter sync: a stretch of the walk over every billed tenant (in tenant id order),
 * from where the last run stopped, until its end or the run's deadline. Does nothing without a
 * provider (ledger-only mode).
 *
 * One run at a time walks: the walk's item holds a lease (a conditional write) that expires soon
 * after the holder's deadline, so a crashed run holds it no longer; a run that finds it held skips
 * the walk. The lease only saves work and keeps the walk's position moving forward: billing once
 * does not depend on it. If two runs ever sync one tenant at once (a run that outlived its lease),
 * the tenant's cursor moves only by conditional writes (the loser reports `raced`), and both send
 * the same window's events under the same identifiers, which the provider accepts once.
 */
export async function syncUsage(d: BillingDeps, now: Date, opts: SyncOptions = {}): Promise<SyncReport> {
  const report: SyncReport = {
    tenants: 0,
    windows: 0,
    events: 0,
    complete: true,
    stopped: null,
    cursor: '',
    problems: [],
    lagMinutes: 0,
  };
  if (d.gateway.mode === 'ledger') return report;
  const clock = opts.clock ?? Date.now;
  const runId = opts.runId ?? randomUUID();
  const deadline = opts.deadlineMs ?? Number.POSITIVE_INFINITY;
  const leaseUntil = Number.isFinite(deadline) ? deadline + LEASE_SLACK_MS : clock() + UNBOUNDED_LEASE_MS;
  const leasing = clock();
  const walk = await d.store.leaseWalk(runId, leaseUntil, leasing);
  if (!walk) {
    const held = await d.store.getWalk();
    return {
      ...report,
      complete: false,
      stopped: 'leased',
      cursor: held?.after ?? '',
      lagMinutes: walkLagMinutes(held, now),
    };
  }

  // A walk that starts now starts clean; one that carries on keeps its start and who it left behind.
  const fresh = walk.after === '' || walk.startedAtMs === null;
  const position = {
    after: walk.after,
    startedAtMs: fresh ? now.getTime() : walk.startedAtMs!,
    behindSinceMs: fresh ? null : walk.behindSinceMs,
  };
  const budget = new Budget(clock, deadline, opts.finishReserveMs ?? 250);
  budget.wrote(clock() - leasing);
  const run: RunContext = {
    permits: new Permits(Math.max(1, opts.concurrency ?? 8)),
    budget,
    itemsOnSubscription: new Set(),
  };
  let reachedEnd = false;
  let saved = false;
  try {
    const prices = new Map(
      (await d.store.listPrices()).map((p) => [
        lineKey(p.model, p.version, p.unit, p.channel ?? 'online'),
        p,
      ]),
    );
    const pageSize = opts.pageSize ?? 100;
    for (;;) {
      if (budget.mustStop()) {
        report.stopped = 'deadline';
        break;
      }
      const page = await d.store.accountsAfter(position.after, pageSize);
      const visits = await visitAll(d, page.accounts, prices, now, opts, run, report);
      // The walk moves past a tenant only when it and every tenant before it were finished.
      for (const [i, visit] of visits.entries()) {
        if (!visit?.finished) break;
        position.after = page.accounts[i]!.tenantId;
        if (visit.behindSinceMs !== null)
          position.behindSinceMs = Math.min(position.behindSinceMs ?? Infinity, visit.behindSinceMs);
      }
      if (report.stopped) break;
      if (!page.more) {
        reachedEnd = true;
        break;
      }
      // Each page's end is a checkpoint: a run that dies loses at most a page of the walk (whose
      // tenants the next run finds caught up).
      const saving = clock();
      const kept = await d.store.saveWalk(runId, position);
      budget.wrote(clock() - saving);
      if (!kept) {
        d.log.warn({ runId }, 'billing sync lost the walk to another run; it stops here');
        saved = true;
        break;
      }
    }
  } finally {
    if (!saved) {
      const change = reachedEnd
        ? {
            after: '',
            startedAtMs: null,
            behindSinceMs: null,
            syncedBeforeMs: Math.min(position.startedAtMs, position.behindSinceMs ?? Infinity),
            completedAtMs: now.getTime(),
          }
        : position;
      await d.store.saveWalk(runId, change, { release: true }).catch((err: unknown) => {
        // The lease expires by itself; the walk resumes from its last checkpoint.
        d.log.error({ err }, 'billing sync could not save where the walk stopped');
      });
    }
  }
  // Behind the last complete walk's mark, or behind a tenant this walk left behind, if earlier.
  const vouched = reachedEnd
    ? Math.min(position.startedAtMs, position.behindSinceMs ?? Infinity)
    : Math.min(walk.syncedBeforeMs ?? position.startedAtMs, position.behindSinceMs ?? Infinity);
  report.lagMinutes = walkLagMinutes({ syncedBeforeMs: vouched, startedAtMs: position.startedAtMs }, now);
  report.cursor = reachedEnd ? '' : position.after;
  report.complete = reachedEnd && position.behindSinceMs === null && report.problems.length === 0;
  return report;
}

interface RunContext {
  permits: Permits;
  budget: Budget;
  /** Batch prices this run made sure are on a subscription (`<subscription> <price>`). */
  itemsOnSubscription: Set<string>;
}

interface Visit {
  /** The walk may move past this tenant (it caught up, or stopped for a reason a later visit retries). */
  finished: boolean;
  /** When the oldest window it left unsent closed; null when it caught up. */
  behindSinceMs: number | null;
}

/** Syncs one page of the walk, a few tenants at a time; a visit not made or cut short is undefined or unfinished. */
async function visitAll(
  d: BillingDeps,
  accounts: BillingAccount[],
  prices: Map<string, PriceRecord>,
  now: Date,
  opts: SyncOptions,
  run: RunContext,
  report: SyncReport,
): Promise<(Visit | undefined)[]> {
  const visits: (Visit | undefined)[] = [];
  let next = 0;
  /** Visits the next tenant; false when there is none, or no time. */
  const step = async () => {
    const i = next++;
    const account = accounts[i];
    if (!account || report.stopped) return false;
    if (run.budget.mustStop()) {
      report.stopped ??= 'deadline';
      return false;
    }
    visits[i] = await visit(d, account, prices, now, opts, run, report);
    return true;
  };
  // A visit that throws stops the others before their next step; the error is the run's, once
  // none of them is still working (nothing goes on after the run gave the walk back).
  let failure: { err: unknown } | undefined;
  const worker = async (once = false) => {
    try {
      while (!failure && (await step()) && !once);
    } catch (err) {
      failure ??= { err };
    }
  };
  // A slow start: the run's first tenant alone, so the budget knows what a step costs before
  // several start at once.
  if (!run.budget.measured) await worker(true);
  await Promise.all(Array.from({ length: Math.max(1, opts.tenantConcurrency ?? 4) }, () => worker()));
  if (failure) throw failure.err;
  return visits;
}

async function visit(
  d: BillingDeps,
  account: BillingAccount,
  prices: Map<string, PriceRecord>,
  now: Date,
  opts: SyncOptions,
  run: RunContext,
  report: SyncReport,
): Promise<Visit> {
  const done: Visit = { finished: true, behindSinceMs: null };
  if (!account.customerId || account.billedFromMs === null) return done;
  const tenant = await d.tenants.get(account.tenantId);
  if (!tenant) return done;
  report.tenants++;
  const out = await syncTenant(d, account, tenant, prices, now, opts, run);
  report.windows += out.windows;
  report.events += out.events;
  if (out.problem) {
    report.problems.push(out.problem);
    d.log.error({ ...out.problem }, 'billing sync stopped for a tenant');
    // Throttling is account-wide: the next tenants would be throttled too. The walk stops before
    // this tenant, so the next run starts with it.
    if (out.problem.reason === 'throttled') {
      report.stopped ??= 'throttled';
      return { finished: false, behindSinceMs: null };
    }
  }
  if (out.cut) {
    report.stopped ??= 'deadline';
    return { finished: false, behindSinceMs: null };
  }
  if (out.caughtUp) return done;
  // Left behind (a problem, or more backlog than one visit sends): when its oldest unsent window closed.
  const end = Math.min(
    Math.floor(out.cursorMs / WINDOW_MS) * WINDOW_MS + WINDOW_MS,
    account.billedUntilMs ?? Infinity,
  );
  const closed = end + CLOSE_DELAY_MS;
  return { finished: true, behindSinceMs: end > out.cursorMs && closed <= now.getTime() ? closed : null };
}

interface TenantOutcome {
  windows: number;
  events: number;
  caughtUp: boolean;
  /** The run's deadline stopped it before it caught up. */
  cut?: boolean;
  /** Where its cursor stands (as this visit last knew it). */
  cursorMs: number;
  problem?: SyncProblem;
}

/**
 * The plan usage is billed under: the tenant's while it bills overage; after a downgrade to free
 * (usage up to `billedUntilMs` is still invoiced) the subscription's paid plan.
 */
function billedPlan(account: BillingAccount, tenantPlan: string): string {
  return tenantPlan === FREE_PLAN && account.plan ? account.plan : tenantPlan;
}

async function syncTenant(
  d: BillingDeps,
  account: BillingAccount,
  tenant: Tenant,
  prices: Map<string, PriceRecord>,
  now: Date,
  opts: SyncOptions,
  run: RunContext,
): Promise<TenantOutcome> {
  const late = servedWithinMs(d.config.MODEL_TIMEOUT_MS);
  const closedBefore = now.getTime() - CLOSE_DELAY_MS;
  const until = account.billedUntilMs ?? Number.POSITIVE_INFINITY;
  const started = run.budget.now();
  const included = includedFor(await d.plans.get(billedPlan(account, tenant.plan)), tenant);

  let state: SyncState = (await d.store.startSync(tenant.id, account.billedFromMs!))
    ? { tenantId: tenant.id, cursorMs: account.billedFromMs!, month: '', includedUsed: {}, sent: [] }
    : (await d.store.getSync(tenant.id))!;
  const out: TenantOutcome = { windows: 0, events: 0, caughtUp: false, cursorMs: state.cursorMs };
  if (state.cursorMs < account.billedFromMs!) {
    // A new subscription after a gap: the gap was not subscribed, so it is skipped, never billed.
    const moved = await d.store.advance(tenant.id, state.cursorMs, {
      cursorMs: account.billedFromMs!,
      month: '',
      includedUsed: {},
    });
    if (!moved) return { ...out, problem: raced(tenant.id) };
    state = { ...state, cursorMs: account.billedFromMs!, month: '', includedUsed: {}, sent: [] };
    out.cursorMs = state.cursorMs;
  }

  const chunk = new EventChunk(d, tenant.id, late);
  const max = opts.maxWindowsPerTenant ?? 48;
  let stepStarted = started;
  while (out.windows < max) {
    const start = state.cursorMs;
    const end = Math.min(Math.floor(start / WINDOW_MS) * WINDOW_MS + WINDOW_MS, until);
    if (end <= start || end > closedBefore) {
      run.budget.took(run.budget.now() - stepStarted);
      out.caughtUp = true;
      return out;
    }
    // A window is started only with room for a typical one before the run must stop.
    if (run.budget.mustStop()) return { ...out, cut: true };
    // The usage reads (a Query per shard) are the slow part of a step: not awaited past the deadline.
    const events: UsageEvent[] | 'cut' = await run.budget.race(
      chunk.served(start, end, Math.min(closedBefore, until)),
    );
    if (events === 'cut') return { ...out, cut: true };
    const month = monthOf(start);
    const monthStart = monthBounds(month).start;
    const usedBefore =
      state.month === month
        ? state.includedUsed
        : start === monthStart
          ? {}
          : await run.budget.race(eventsServedIn(d.usage, tenant.id, monthStart, start, late).then(sumUnits));
    if (usedBefore === 'cut') return { ...out, cut: true };
    const planned = planWindow(tenant.id, account.customerId!, start, events, included, usedBefore, prices);
    if ('problem' in planned) return { ...out, problem: planned.problem };
    const pending = planned.events.filter((e) => !state.sent.includes(e.eventName));
    const joined = await ensureBatchItems(d, account, planned.batchPrices, run);
    if (joined.problem) return { ...out, problem: joined.problem };
    if (joined.cut) return { ...out, cut: true };
    const sent = await sendAll(d, tenant.id, start, pending, opts, run);
    out.events += sent.accepted;
    if (sent.problem) return { ...out, problem: sent.problem };
    if (sent.cut) return { ...out, cut: true };
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
    out.cursorMs = to;
    out.windows++;
    const t = run.budget.now();
    run.budget.took(t - stepStarted);
    stepStarted = t;
  }
  return out;
}

/**
 * The run's time. `stopAt`: after it nothing waits on the provider or a usage read (what is still
 * unanswered is left, as a crash would leave it); it is the deadline less what finishing needs
 * (the single writes of steps under way, then saving the walk: three times the slowest write of
 * the walk's item so far, at least the reserve asked for). A new step (a tenant's window, with
 * the reads before it) starts only with room for a typical one (a moving average): one that runs
 * long is cut at `stopAt`, so this saves work, not the deadline.
 */
class Budget {
  private typicalStep = 0;
  private slowestWrite = 0;

  constructor(
    readonly now: () => number,
    private readonly deadline: number,
    private readonly reserve: number,
  ) {}

  get stopAt(): number {
    return this.deadline - Math.max(this.reserve, 3 * this.slowestWrite);
  }

  /** Whether a step was timed yet. */
  measured = false;

  took(ms: number): void {
    this.typicalStep = this.measured ? 0.8 * this.typicalStep + 0.2 * ms : ms;
    this.measured = true;
  }

  wrote(ms: number): void {
    this.slowestWrite = Math.max(this.slowestWrite, ms);
  }

  mustStop(): boolean {
    return this.now() + this.typicalStep >= this.stopAt;
  }

  /** What `work` gives, or `cut` when it has not answered by `stopAt`. */
  async race<T>(work: Promise<T>): Promise<T | 'cut'> {
    if (!Number.isFinite(this.stopAt)) return work;
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<'cut'>((r) => {
      // Node's timers hold at most about 24.8 days; a deadline further away is as good as none.
      timer = setTimeout(() => r('cut'), Math.min(2 ** 31 - 1, Math.max(0, this.stopAt - this.now())));
    });
    try {
      return await Promise.race([work, cut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** At most `n` provider calls at once, across every tenant of the run. */
class Permits {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(n: number) {
    this.free = n;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
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
):
  | { events: MeterEventInput[]; usedAfter: SyncState['includedUsed']; batchPrices: string[] }
  | { problem: SyncProblem } {
  const { lines, usedAfter } = allocate(events, included, usedBefore);
  const out: MeterEventInput[] = [];
  const batchPrices: string[] = [];
  for (const [key, line] of lines) {
    if (line.billable <= 0) continue;
    const price = prices.get(key);
    if (!price) {
      return {
        problem: {
          tenantId,
          reason: 'no_price',
          message: `no Stripe meter for ${line.model}@${line.version} ${line.unit}${line.channel === 'batch' ? ' (batch)' : ''}: run \`npm run billing:setup\``,
        },
      };
    }
    if (line.channel === 'batch') batchPrices.push(price.priceId);
    out.push({
      eventName: price.eventName,
      customerId,
      value: line.billable,
      identifier: meterIdentifier(tenantId, start, price.eventName),
      timestamp: Math.floor(start / 1000),
    });
  }
  return { events: out.sort((a, b) => a.eventName.localeCompare(b.eventName)), usedAfter, batchPrices };
}

/**
 * Puts the batch prices a window bills on the tenant's subscription, before its meter events go:
 * Checkout and setup put only the online prices there (Stripe holds at most 20 per subscription),
 * so a batch price joins when it is first billed. Adding is idempotent (a price already there is
 * left alone); each subscription and price is checked once per run. A subscription that ended has
 * nothing to join (its last usage is still sent).
 */
async function ensureBatchItems(
  d: BillingDeps,
  account: BillingAccount,
  priceIds: string[],
  run: RunContext,
): Promise<{ problem?: SyncProblem; cut?: boolean }> {
  const subscription = account.subscriptionId;
  if (!subscription || account.status === 'canceled') return {};
  for (const priceId of priceIds) {
    const id = `${subscription} ${priceId}`;
    if (run.itemsOnSubscription.has(id)) continue;
    const r = await run.budget.race(
      run.permits.use(() => d.gateway.ensureSubscriptionItem(subscription, priceId)),
    );
    if (r === 'cut') return { cut: true };
    if (!r.ok) {
      return {
        problem: {
          tenantId: account.tenantId,
          reason: r.kind === 'not_connected' ? 'rejected' : r.kind,
          message: `could not put the batch price ${priceId} on ${subscription}: ${
            r.kind === 'rejected' || r.kind === 'unavailable' ? r.message : r.kind
          }`,
        },
      };
    }
    run.itemsOnSubscription.add(id);
  }
  return {};
}

/**
 * Sends a window's events (as many at once as the run's permits allow), pacing on throttling;
 * stops at the first lasting failure, and at the run's deadline (`cut`: the window stays where it
 * is, and what was accepted meanwhile is resent next time under the same identifiers).
 */
async function sendAll(
  d: BillingDeps,
  tenantId: string,
  windowStart: number,
  events: MeterEventInput[],
  opts: SyncOptions,
  run: RunContext,
): Promise<{ accepted: number; problem?: SyncProblem; cut?: boolean }> {
  const sleep = opts.sleep ?? defaultSleep;
  const maxAttempts = opts.maxAttempts ?? 5;
  const backoff = opts.backoffMs ?? 500;
  let accepted = 0;
  let problem: SyncProblem | undefined;
  let cut = false;
  const queue = [...events];
  const worker = async () => {
    while (!problem && !cut) {
      const event = queue.shift();
      if (!event) return;
      for (let attempt = 1; ; attempt++) {
        const r = await run.budget.race(run.permits.use(() => d.gateway.sendMeterEvent(event)));
        if (r === 'cut') {
          cut = true;
          return;
        }
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
        // A back-off that would end past the deadline is left to the next run.
        if (run.budget.now() + wait >= run.budget.stopAt) {
          cut = true;
          return;
        }
        await sleep(wait);
        if (problem || cut) return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, events.length), 4) }, worker));
  return { accepted, problem, cut };
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
