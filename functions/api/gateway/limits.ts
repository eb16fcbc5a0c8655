import type { Context } from 'hono';
import type { Principal } from '#shared/auth/authenticator';
import { plansUrl } from '#shared/billing/billing-deps';
import { isExhaustion } from '#shared/credits/credit-notices';
import { ApiError } from '#shared/errors';
import { costNanoUsd, formatUsd, type Units } from '#shared/metering/pricing';
import type { UsageEvent } from '#shared/metering/usage-store';
import { DEFAULT_PROJECT_ID } from '#shared/projects/project';
import type { Admission } from '#shared/quotas/admission';
import { type AlertMetric, type Reached, reachedThresholds } from '#shared/quotas/alerts';
import { billingUnits, type EffectiveLimits, effectiveLimits } from '#shared/quotas/plans';
import type { MinuteCount, MonthUse, Reservation, ReserveResult } from '#shared/quotas/quota-store';
import { windowsAt } from '#shared/quotas/windows';
import type { DataEnv } from '../http/env';
import type { Target } from './inference';

/** The worst case a request may use, known before the model runs. */
export interface WorstCase {
  /** Counted against tokens-per-minute limits (prompt bound + max output; 0 for images). */
  tokens: number;
  units: Units;
}

async function limitsOf(c: Context<DataEnv>, principal: Principal): Promise<EffectiveLimits> {
  const deps = c.get('deps');
  // The plan and the key's project, both cached per instance (the project: one GetItem per
  // AUTH_CACHE_TTL_MS; a project without limits adds nothing else anywhere).
  const [plan, project] = await Promise.all([
    deps.plans.get(principal.tenant.plan),
    deps.projectLimits.get(principal.tenantId, principal.projectId),
  ]);
  if (!plan)
    throw new ApiError('internal_error', `The account's plan '${principal.tenant.plan}' is not defined.`);
  const limits = effectiveLimits(plan, {
    tenantOverrides: principal.tenant.limitOverrides,
    ownerSpendCapNanoUsd: principal.tenant.spendCapNanoUsd,
    keyLimits: principal.keyLimits,
    ...(project ? { project: { id: project.id, limits: project.limits } } : {}),
    // Free-only: never invoiced, so always admitted against the balance.
    prepaid: principal.tenant.billingMode === 'prepaid' || principal.tenant.freeOnly === true,
  });
  return c.get('channel') === 'batch' ? batchLimits(limits) : limits;
}

/**
 * A batch line's limits: the month's (included units, spend caps, the balance) as online, but not
 * the per-minute and concurrency limits: batch has its own (lines per day, at creation), and never
 * uses up the online ones.
 */
function batchLimits(limits: EffectiveLimits): EffectiveLimits {
  const { requestsPerMinute: _r, tokensPerMinute: _t, maxConcurrent: _m, ...tenant } = limits.tenant;
  const { requestsPerMinute: _kr, tokensPerMinute: _kt, ...key } = limits.key;
  const { project: p, ...rest } = limits;
  // A project's budget holds batch lines too; its per-minute limits do not.
  const project =
    p?.spendCapNanoUsd !== undefined ? { project: { id: p.id, spendCapNanoUsd: p.spendCapNanoUsd } } : {};
  return { ...rest, tenant, key, ...project };
}

/**
 * Admits the worst case against every limit at once, before the model is called: from this
 * instance's lease in memory (no store round trip; the lease is refilled ahead, in one
 * transaction, off the request path) or, near a limit, by a reservation of its own (one
 * transaction). A refusal is a 429 naming the limit, with `Retry-After` and `x-should-retry`.
 * The rate-limit headers and the month for the usage alerts come from the lease's view (the
 * counters read after its last refill, corrected by its own use since), or for a reservation from
 * the counters read while the model runs (one BatchGet). A store too busy to admit is a 503 the
 * client may retry: nothing was reserved and nothing ran.
 */
export async function reserve(c: Context<DataEnv>, target: Target, worst: WorstCase): Promise<Admission> {
  const deps = c.get('deps');
  const principal = c.get('principal');
  const limits = await limitsOf(c, principal);
  const now = deps.now();
  const result = await deps.admission
    .admit({
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      requestId: c.get('requestId'),
      now,
      limits,
      tokens: worst.tokens,
      units: worst.units,
      costNanoUsd: costNanoUsd(worst.units, target.version.prices),
      ttlMs: deps.config.MODEL_TIMEOUT_MS + deps.config.RESERVATION_GRACE_MS,
    })
    .catch((err: unknown) => {
      // Overload (a hot tenant's counters contended past the retries, or the store slow to
      // connect): nothing was reserved and nothing runs, so the client may simply retry.
      throw new ApiError(
        'store_unavailable',
        'The quota store is busy, so the request was not run; you were not billed. Try again.',
        { cause: err, headers: { 'retry-after': '1', 'x-should-retry': 'true' } },
      );
    });
  if (!result.ok) {
    await alertOnRefusal(c, result, limits, now);
    if (principal.tenant.freeOnly) {
      // Off the served path (refused either way); a failure here must not turn the 429 into a 500.
      await deps.creditNotices
        .exhausted(principal.tenant, result, now)
        .catch((err: unknown) => c.get('log').warn({ err }, 'credit exhaustion not marked or not sent'));
    }
    throw refusal(result, limits, now, costNanoUsd(worst.units, target.version.prices), {
      freeOnly: principal.tenant.freeOnly === true,
      upgradeUrl: plansUrl(deps.config),
      project: result.scope === 'project' ? await projectNamed(c, principal) : undefined,
    });
  }
  const admission = result.admission;
  const peek = (
    admission.kind === 'lease'
      ? deps.admission.peek(principal.tenantId, principal.keyId, now, limits)
      : deps.quotas.peek(principal.tenantId, principal.keyId, now, { project: limits.project })
  ).catch(() => undefined);
  c.set('quota', { limits, peek });
  c.set(
    'rateLimit',
    peek.then((counts) => rateLimitHeaders(limits, counts, now)),
  );
  return admission;
}

/** This request's usage record: `units` at the version's prices, as the credential's tenant and key. */
export function usageEvent(
  c: Context<DataEnv>,
  target: Target,
  units: Units,
  latencyMs: number,
  extra: Pick<UsageEvent, 'leaseId' | 'expiresAt'> & { status?: UsageEvent['status'] } = {},
): UsageEvent {
  const principal = c.get('principal');
  return {
    requestId: c.get('requestId'),
    tenantId: principal.tenantId,
    keyId: principal.keyId,
    model: target.version.model,
    version: target.version.version,
    units,
    costNanoUsd: costNanoUsd(units, target.version.prices),
    priceBook: target.version.priceBook,
    latencyMs,
    status: 'succeeded',
    at: c.get('deps').now().toISOString(),
    // Admitted against the credit balance: the credit ledger burns it.
    ...(c.get('quota')?.limits.tenant.prepaid ? { prepaid: true } : {}),
    ...(c.get('channel') === 'batch' ? { channel: 'batch' as const } : {}),
    ...(principal.projectId !== DEFAULT_PROJECT_ID ? { projectId: principal.projectId } : {}),
    ...extra,
  };
}

/** The quota accounting's view of a use: its tokens (input + output), units and cost. */
function actualOf(units: Units, cost: number) {
  return { tokens: (units.input_tokens ?? 0) + (units.output_tokens ?? 0), units, costNanoUsd: cost };
}

/**
 * Writes the request's usage record (one PutItem; a single reservation near a limit corrects its
 * counters in the same transaction). If it cannot be written the answer is withheld (503): a
 * result is never served uncounted.
 */
export async function settle(
  c: Context<DataEnv>,
  target: Target,
  admission: Admission,
  units: Units,
  latencyMs: number,
): Promise<number> {
  const deps = c.get('deps');
  const event = usageEvent(c, target, units, latencyMs);
  const cost = event.costNanoUsd;
  try {
    await deps.admission.settle(admission, actualOf(units, cost), event);
  } catch (err) {
    await release(c, admission);
    throw new ApiError(
      'store_unavailable',
      'Usage could not be recorded, so the result was withheld; you were not billed. Try again.',
      // Nothing was billed and the reservation is given back: a retry is safe (and, with the same
      // Idempotency-Key, still served once).
      { cause: err, headers: { 'retry-after': '1', 'x-should-retry': 'true' } },
    );
  }
  await afterSettle(c, target, admission, units, cost);
  return cost;
}

/**
 * Settles a request whose usage record is already written (ahead of its answer, or a stream's
 * record moved to its end): only the quota accounting, to `units` (in memory for a lease; a single
 * reservation corrected in one transaction). Never throws: if a reservation cannot be corrected,
 * the sweeper corrects it from the record. Returns the cost of `units`.
 */
export async function settleRecorded(
  c: Context<DataEnv>,
  target: Target,
  admission: Admission,
  units: Units,
  latencyMs: number,
): Promise<number> {
  const deps = c.get('deps');
  const event = usageEvent(c, target, units, latencyMs);
  const cost = event.costNanoUsd;
  const settled = await deps.admission
    .settle(admission, actualOf(units, cost), event, { recorded: true })
    .then(
      () => true,
      (err: unknown) => {
        c.get('log').warn({ err }, 'reservation not corrected to the recorded use; the sweeper will');
        return false;
      },
    );
  if (settled) await afterSettle(c, target, admission, units, cost);
  return cost;
}

async function afterSettle(
  c: Context<DataEnv>,
  target: Target,
  admission: Admission,
  units: Units,
  cost: number,
) {
  for (const [unit, value] of Object.entries(units)) {
    if (value) c.get('deps').metrics.emit('Units', value, { ModelVersion: target.served, Unit: unit });
  }
  await alertAfterSettle(c, admission.reservation, units, cost);
}

/**
 * Serves a request whose use is known before the model answers (one image, a text's tokens by the
 * billing rule): its usage record (`succeeded`, naming the lease it was admitted from) is written
 * while the model runs, and the answer waits for both. If the model fails in any way (`answer`
 * throws: a failed call, a garbled answer) the record is voided and the error rethrown; if the
 * record cannot be written the answer is withheld (503, retryable). Either way the caller's
 * `withReservation` gives the admission back. When the admission's lease is near its expiry the
 * record must not name it, and the request is recorded after its answer as usual (`settle`).
 */
export async function recordAhead<T>(
  c: Context<DataEnv>,
  target: Target,
  admission: Admission,
  units: Units,
  answer: () => Promise<T>,
): Promise<{ value: T; costNanoUsd: number }> {
  const deps = c.get('deps');
  const leaseId = deps.admission.recordLeaseId(admission);
  const started = performance.now();
  if (leaseId === undefined) {
    const value = await answer();
    return { value, costNanoUsd: await settle(c, target, admission, units, performance.now() - started) };
  }
  // Written before the latency is known: the record carries 0 (the model's latency is in the
  // request metrics and the model health counts).
  const event = usageEvent(c, target, units, 0, { leaseId });
  const [written, answered] = await Promise.allSettled([deps.usage.record(event), answer()]);
  const latencyMs = performance.now() - started;
  if (answered.status === 'rejected') {
    // Ours to void unless another call holds this request id; a write that failed may still have
    // landed (its answer lost), so it is voided too.
    const ours = written.status === 'rejected' || written.value === 'recorded';
    if (ours && !(await voidRecord(c, event))) throw billedAnyway(answered.reason);
    throw answered.reason;
  }
  if (written.status === 'rejected') {
    await voidRecord(c, event);
    throw new ApiError(
      'store_unavailable',
      'Usage could not be recorded, so the result was withheld; you were not billed. Try again.',
      { cause: written.reason, headers: { 'retry-after': '1', 'x-should-retry': 'true' } },
    );
  }
  if (written.value === 'duplicate') {
    // This request id was recorded by another call already: this one counts nothing more.
    await release(c, admission);
    return { value: answered.value, costNanoUsd: event.costNanoUsd };
  }
  return { value: answered.value, costNanoUsd: await settleRecorded(c, target, admission, units, latencyMs) };
}

/** Voids a record written ahead of an answer that never came. False if the store failed to. */
async function voidRecord(c: Context<DataEnv>, event: UsageEvent): Promise<boolean> {
  try {
    await c.get('deps').usage.void(event.tenantId, event.requestId);
    return true;
  } catch (err) {
    c.get('log').error(
      { err, requestId: event.requestId, tenantId: event.tenantId },
      'the usage record of a failed request could not be voided: it stays billed until voided by hand',
    );
    return false;
  }
}

/** A failure whose record could not be voided: its "not billed" would not be true. */
function billedAnyway(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const message = err.message.replace(/ ?You were not billed[^.]*\./, '');
  return new ApiError(
    err.code,
    `${message} Its usage record, written while the model ran, could not be voided (the store failed), so it may show as billed until it is corrected.`,
    { param: err.param, headers: err.headers, cause: err },
  );
}

/**
 * After a settle: the month's use as the counters read during the model call showed it (this
 * request's reservation swapped for its actual use), checked against 50/80/100% of the limits.
 * Pure arithmetic unless a threshold is newly reached; never fails the request.
 */
async function alertAfterSettle(c: Context<DataEnv>, r: Reservation, units: Units, cost: number) {
  const quota = c.get('quota');
  const month = (await quota?.peek)?.month;
  if (!quota || !month) return;
  const use: MonthUse = { units: {}, costNanoUsd: month.costNanoUsd - r.costNanoUsd + cost };
  for (const u of billingUnits) use.units[u] = (month.units[u] ?? 0) - (r.units[u] ?? 0) + (units[u] ?? 0);
  await notify(c, r.month, reachedThresholds(use, quota.limits));
}

/** A request refused by the month's spend cap or included units: the 100% alert. */
async function alertOnRefusal(
  c: Context<DataEnv>,
  r: Extract<ReserveResult, { ok: false }>,
  limits: EffectiveLimits,
  now: Date,
) {
  if (r.scope === 'project') {
    // The project's hard-stop budget refused it: the budget's 100% alert (to the project's and the
    // tenant's owners). A project's per-minute limits raise no alert.
    if (r.limit !== 'spend_cap_reached') return;
    const { tenantId, projectId } = c.get('principal');
    await c
      .get('deps')
      .projectBudgets.onRefused(tenantId, projectId, now)
      .catch((err: unknown) => c.get('log').warn({ err }, 'project budget alert not recorded or not sent'));
    return;
  }
  if (r.scope === 'key' && r.limit === 'spend_cap_reached' && r.used !== undefined) {
    // The key's hard-stop budget refused it: the budget's 100% alert (to the recipients its owner chose).
    const { tenantId, keyId } = c.get('principal');
    await c
      .get('deps')
      .keyBudgets.onRefused(tenantId, keyId, now)
      .catch((err: unknown) => c.get('log').warn({ err }, 'key budget alert not recorded or not sent'));
    return;
  }
  if (r.scope !== 'tenant' || r.used === undefined) return;
  const metric: AlertMetric | undefined =
    r.limit === 'spend_cap_reached' ? 'spend' : r.unit ? `included_${r.unit}` : undefined;
  // A limit of 0 (nothing included) is not something to be alerted about each month.
  if (!metric || r.limitValue <= 0 || (metric !== 'spend' && limits.included[r.unit!] === undefined)) return;
  // The refusing counter includes capacity leases hold unused: the month's use is read net of it
  // (off the served path: this request is refused either way).
  const month = await c
    .get('deps')
    .quotas.month(c.get('principal').tenantId, now)
    .catch(() => undefined);
  const used = month ? (metric === 'spend' ? month.costNanoUsd : (month.units[r.unit!] ?? 0)) : r.used;
  await notify(c, windowsAt(now).month, [{ metric, threshold: 100, used, limit: r.limitValue }]);
}

async function notify(c: Context<DataEnv>, month: string, reached: Reached[]) {
  if (reached.length === 0) return;
  const { tenant } = c.get('principal');
  const plan = await c.get('deps').plans.get(tenant.plan);
  await c
    .get('deps')
    .alerts.notify(tenant, month, reached, { hardStop: plan?.overage === 'hard_stop' })
    .catch((err: unknown) => c.get('log').warn({ err }, 'usage alert not recorded or not sent'));
}

/** Gives a failed request's reservation back. Never throws: the sweeper is the fallback. */
export async function release(c: Context<DataEnv>, admission: Admission): Promise<void> {
  await c
    .get('deps')
    .admission.release(admission)
    .catch((err: unknown) => c.get('log').warn({ err }, 'reservation not released; the sweeper will'));
}

/**
 * Runs `serve` under a reservation: released if `serve` throws (the model failed or answered
 * garbage), so a failed request holds nothing. `serve` settles on success.
 */
export async function withReservation<T>(
  c: Context<DataEnv>,
  target: Target,
  worst: WorstCase,
  serve: (admission: Admission) => Promise<T>,
): Promise<T> {
  const admission = await reserve(c, target, worst);
  try {
    return await serve(admission);
  } catch (err) {
    await release(c, admission);
    throw err;
  }
}

/** The key's project as a refusal names it: its name and id (from the cache limitsOf filled). */
async function projectNamed(c: Context<DataEnv>, principal: Principal): Promise<string> {
  const project = await c
    .get('deps')
    .projectLimits.get(principal.tenantId, principal.projectId)
    .catch(() => null);
  return project ? `project '${project.name}' (${project.id})` : `project ${principal.projectId}`;
}

function refusal(
  r: Extract<ReserveResult, { ok: false }>,
  limits: EffectiveLimits,
  now: Date,
  worstNanoUsd: number,
  opts: { freeOnly: boolean; upgradeUrl: string; project?: string },
): ApiError {
  const project = opts.project ?? "this API key's project";
  const who = r.scope === 'key' ? 'this API key' : r.scope === 'project' ? project : 'your account';
  const capOf =
    r.scope === 'key'
      ? "This API key's monthly spend cap"
      : r.scope === 'project'
        ? `The monthly budget of ${project}`
        : "This month's spend cap";
  const raise =
    r.scope === 'project' ? "Raise the project's budget to continue." : 'Raise the cap to continue.';
  const messages: Record<typeof r.limit, string> = {
    rate_limit_requests: `Rate limit reached for ${who}: ${r.limitValue} requests per minute. Retry in ${r.retryAfterSec} s.`,
    rate_limit_tokens: `Rate limit reached for ${who}: ${r.limitValue} tokens per minute (this request may use up to its prompt plus max_tokens). Retry in ${r.retryAfterSec} s.`,
    concurrency_limit: `Too many requests in flight for ${who}: at most ${r.limitValue} at once.`,
    quota_exceeded: `This month's included ${r.unit ? r.unit.replace('_', ' ') : 'usage'} of your plan ${r.unit ? `(${r.limitValue}) ` : ''}would be exceeded. Upgrade the plan to continue (${opts.upgradeUrl}); it renews in ${Math.ceil(r.retryAfterSec / 86_400)} days.`,
    spend_cap_reached: `${capOf} of $${formatUsd(r.limitValue)} would be exceeded. ${raise}`,
    insufficient_balance: !opts.freeOnly
      ? `Your credit balance ($${formatUsd(r.limitValue)}) cannot pay for this request (up to $${formatUsd(worstNanoUsd)}). Add credit to continue; you were not billed.`
      : isExhaustion(r)
        ? `Your free credit has run out ($${formatUsd(r.limitValue)} left). Free-only is on, so this request was refused and nothing was charged. To continue, top up credit on the console's billing page, or turn free-only off there and add a card or upgrade.`
        : `Your credit balance ($${formatUsd(r.limitValue)}) cannot pay for this request (up to $${formatUsd(worstNanoUsd)}). Free-only is on, so it was refused and nothing was charged: lower max_tokens, or add credit.`,
  };
  const hardStop =
    r.limit === 'quota_exceeded' || r.limit === 'spend_cap_reached' || r.limit === 'insufficient_balance';
  return new ApiError(r.limit, messages[r.limit], {
    headers: {
      // Time does not refill a balance: no Retry-After, only `x-should-retry: false`.
      ...(r.limit === 'insufficient_balance' ? {} : { 'retry-after': String(r.retryAfterSec) }),
      // The official OpenAI SDKs retry every 429 unless told not to.
      'x-should-retry': hardStop ? 'false' : 'true',
      ...rateLimitHeaders(limits, undefined, now),
    },
  });
}

/**
 * OpenAI-style `x-ratelimit-*` headers from the tenant's, the project's and the key's per-minute
 * limits: the lowest limit, and the least remaining of them. Without counts (a refusal) the
 * remaining is 0.
 */
export function rateLimitHeaders(
  limits: EffectiveLimits,
  counts: { tenant?: MinuteCount; key?: MinuteCount; project?: MinuteCount } | undefined,
  now: Date,
): Record<string, string> {
  const reset = `${windowsAt(now).minuteResetSec}s`;
  const headers: Record<string, string> = {};
  for (const [field, count, suffix] of [
    ['requestsPerMinute', 'requests', 'requests'],
    ['tokensPerMinute', 'tokens', 'tokens'],
  ] as const) {
    const scopes = [
      { limit: limits.tenant[field], used: counts?.tenant?.[count] ?? 0 },
      { limit: limits.project?.[field], used: counts?.project?.[count] ?? 0 },
      { limit: limits.key[field], used: counts?.key?.[count] ?? 0 },
    ].filter((o): o is { limit: number; used: number } => o.limit !== undefined);
    if (scopes.length === 0) continue;
    const remaining = counts ? Math.min(...scopes.map((o) => Math.max(0, o.limit - o.used))) : 0;
    headers[`x-ratelimit-limit-${suffix}`] = String(Math.min(...scopes.map((o) => o.limit)));
    headers[`x-ratelimit-remaining-${suffix}`] = String(remaining);
    headers[`x-ratelimit-reset-${suffix}`] = reset;
  }
  return headers;
}

/** Rate-limit headers for `/v1` answers that reserved nothing (lists, usage): read, not counted. */
export async function currentRateLimitHeaders(c: Context<DataEnv>): Promise<Record<string, string>> {
  const principal = c.get('principal');
  const deps = c.get('deps');
  const now = deps.now();
  const limits = await limitsOf(c, principal);
  // This instance's lease view when it has one (no round trip), else the counters.
  const counts = await deps.admission
    .peek(principal.tenantId, principal.keyId, now, limits)
    .then(
      (view) =>
        view ?? deps.quotas.peek(principal.tenantId, principal.keyId, now, { project: limits.project }),
    );
  return rateLimitHeaders(limits, counts, now);
}
