import type { Context } from 'hono';
import type { Principal } from '../../shared/auth/authenticator';
import { ApiError } from '../../shared/errors';
import { costNanoUsd, formatUsd, type Units } from '../../shared/metering/pricing';
import type { Admission } from '../../shared/quotas/admission';
import { type AlertMetric, type Reached, reachedThresholds } from '../../shared/quotas/alerts';
import { billingUnits, type EffectiveLimits, effectiveLimits } from '../../shared/quotas/plans';
import type { MinuteCount, MonthUse, Reservation, ReserveResult } from '../../shared/quotas/quota-store';
import { windowsAt } from '../../shared/quotas/windows';
import type { AppEnv } from './env';
import type { Target } from './inference';

/** The worst case a request may use, known before the model runs. */
export interface WorstCase {
  /** Counted against tokens-per-minute limits (prompt bound + max output; 0 for images). */
  tokens: number;
  units: Units;
}

async function limitsOf(c: Context<AppEnv>, principal: Principal): Promise<EffectiveLimits> {
  const plan = await c.get('deps').plans.get(principal.tenant.plan);
  if (!plan)
    throw new ApiError('internal_error', `The account's plan '${principal.tenant.plan}' is not defined.`);
  return effectiveLimits(plan, {
    tenantOverrides: principal.tenant.limitOverrides,
    ownerSpendCapNanoUsd: principal.tenant.spendCapNanoUsd,
    keyLimits: principal.keyLimits,
  });
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
export async function reserve(c: Context<AppEnv>, target: Target, worst: WorstCase): Promise<Admission> {
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
    throw refusal(result, limits, now);
  }
  const admission = result.admission;
  const peek = (
    admission.kind === 'lease'
      ? deps.admission.peek(principal.tenantId, principal.keyId, now)
      : deps.quotas.peek(principal.tenantId, principal.keyId, now)
  ).catch(() => undefined);
  c.set('quota', { limits, peek });
  c.set(
    'rateLimit',
    peek.then((counts) => rateLimitHeaders(limits, counts, now)),
  );
  return admission;
}

/**
 * Settles a reservation to the actual use and writes the usage event, in one transaction. If
 * that cannot be written the answer is withheld (503): a result is never served uncounted.
 */
export async function settle(
  c: Context<AppEnv>,
  target: Target,
  admission: Admission,
  units: Units,
  latencyMs: number,
): Promise<number> {
  const deps = c.get('deps');
  const principal = c.get('principal');
  const cost = costNanoUsd(units, target.version.prices);
  try {
    await deps.admission.settle(
      admission,
      { tokens: (units.input_tokens ?? 0) + (units.output_tokens ?? 0), units, costNanoUsd: cost },
      {
        requestId: c.get('requestId'),
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        model: target.version.model,
        version: target.version.version,
        units,
        costNanoUsd: cost,
        priceBook: target.version.priceBook,
        latencyMs,
        status: 'succeeded',
        at: deps.now().toISOString(),
      },
    );
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
  for (const [unit, value] of Object.entries(units)) {
    if (value) deps.metrics.emit('Units', value, { ModelVersion: target.served, Unit: unit });
  }
  await alertAfterSettle(c, admission.reservation, units, cost);
  return cost;
}

/**
 * After a settle: the month's use as the counters read during the model call showed it (this
 * request's reservation swapped for its actual use), checked against 50/80/100% of the limits.
 * Pure arithmetic unless a threshold is newly reached; never fails the request.
 */
async function alertAfterSettle(c: Context<AppEnv>, r: Reservation, units: Units, cost: number) {
  const quota = c.get('quota');
  const month = (await quota?.peek)?.month;
  if (!quota || !month) return;
  const use: MonthUse = { units: {}, costNanoUsd: month.costNanoUsd - r.costNanoUsd + cost };
  for (const u of billingUnits) use.units[u] = (month.units[u] ?? 0) - (r.units[u] ?? 0) + (units[u] ?? 0);
  await notify(c, r.month, reachedThresholds(use, quota.limits));
}

/** A request refused by the month's spend cap or included units: the 100% alert. */
async function alertOnRefusal(
  c: Context<AppEnv>,
  r: Extract<ReserveResult, { ok: false }>,
  limits: EffectiveLimits,
  now: Date,
) {
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

async function notify(c: Context<AppEnv>, month: string, reached: Reached[]) {
  if (reached.length === 0) return;
  const { tenant } = c.get('principal');
  const plan = await c.get('deps').plans.get(tenant.plan);
  await c
    .get('deps')
    .alerts.notify(tenant, month, reached, { hardStop: plan?.overage === 'hard_stop' })
    .catch((err: unknown) => c.get('log').warn({ err }, 'usage alert not recorded or not sent'));
}

/** Gives a failed request's reservation back. Never throws: the sweeper is the fallback. */
export async function release(c: Context<AppEnv>, admission: Admission): Promise<void> {
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
  c: Context<AppEnv>,
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

function refusal(r: Extract<ReserveResult, { ok: false }>, limits: EffectiveLimits, now: Date): ApiError {
  const who = r.scope === 'key' ? 'this API key' : 'your account';
  const capOf = r.scope === 'key' ? "This API key's monthly spend cap" : "This month's spend cap";
  const messages: Record<typeof r.limit, string> = {
    rate_limit_requests: `Rate limit reached for ${who}: ${r.limitValue} requests per minute. Retry in ${r.retryAfterSec} s.`,
    rate_limit_tokens: `Rate limit reached for ${who}: ${r.limitValue} tokens per minute (this request may use up to its prompt plus max_tokens). Retry in ${r.retryAfterSec} s.`,
    concurrency_limit: `Too many requests in flight for ${who}: at most ${r.limitValue} at once.`,
    quota_exceeded: `This month's included ${r.unit ? r.unit.replace('_', ' ') : 'usage'} of your plan ${r.unit ? `(${r.limitValue}) ` : ''}would be exceeded. Upgrade the plan to continue; it renews in ${Math.ceil(r.retryAfterSec / 86_400)} days.`,
    spend_cap_reached: `${capOf} of $${formatUsd(r.limitValue)} would be exceeded. Raise the cap to continue.`,
  };
  const hardStop = r.limit === 'quota_exceeded' || r.limit === 'spend_cap_reached';
  return new ApiError(r.limit, messages[r.limit], {
    headers: {
      'retry-after': String(r.retryAfterSec),
      // The official OpenAI SDKs retry every 429 unless told not to.
      'x-should-retry': hardStop ? 'false' : 'true',
      ...rateLimitHeaders(limits, undefined, now),
    },
  });
}

/**
 * OpenAI-style `x-ratelimit-*` headers from the tenant's and the key's per-minute limits: the
 * lower limit, and the least remaining of the two. Without counts (a refusal) the remaining is 0.
 */
export function rateLimitHeaders(
  limits: EffectiveLimits,
  counts: { tenant?: MinuteCount; key?: MinuteCount } | undefined,
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
export async function currentRateLimitHeaders(c: Context<AppEnv>): Promise<Record<string, string>> {
  const principal = c.get('principal');
  const deps = c.get('deps');
  const now = deps.now();
  const [limits, counts] = await Promise.all([
    limitsOf(c, principal),
    // This instance's lease view when it has one (no round trip), else the counters.
    deps.admission
      .peek(principal.tenantId, principal.keyId, now)
      .then((view) => view ?? deps.quotas.peek(principal.tenantId, principal.keyId, now)),
  ]);
  return rateLimitHeaders(limits, counts, now);
}
