import { minus } from './counter-deltas';
import { billingUnits, type EffectiveLimits } from './plans';
import type { Amount, Peek, ReservationRequest } from './quota-types';

/** The counters as read right after a refill, and what the lease had been granted by then. */
export interface LeaseView {
  counters: Peek;
  grantedAtRead: Amount;
}

export function viewOf(counters: Peek, grantedAtRead: Amount): LeaseView {
  return { counters, grantedAtRead };
}

/**
 * The counters as this instance sees them now: as read after the last refill, less what the lease
 * holds unused now (so this instance's own requests count at once), plus what was granted since
 * the read (counted in the store, not yet in the read).
 */
export function viewCounts(view: LeaseView, granted: Amount, used: Amount): Peek {
  const unused = minus(granted, used);
  const since = minus(granted, view.grantedAtRead);
  const c = view.counters;
  const minute = (m: { requests: number; tokens: number } | undefined) =>
    m && {
      requests: m.requests - unused.requests + since.requests,
      tokens: m.tokens - unused.tokens + since.tokens,
    };
  const month = c.month && {
    costNanoUsd: c.month.costNanoUsd - unused.costNanoUsd + since.costNanoUsd,
    units: Object.fromEntries(
      Object.entries(c.month.units).map(([u, n]) => [
        u,
        n - (unused.units[u as 'images'] ?? 0) + (since.units[u as 'images'] ?? 0),
      ]),
    ),
  };
  return {
    tenant: minute(c.tenant),
    key: minute(c.key),
    ...(c.project ? { project: minute(c.project) } : {}),
    ...(c.projectMonth !== undefined
      ? { projectMonth: c.projectMonth - unused.costNanoUsd + since.costNanoUsd }
      : {}),
    month,
    ...(c.credit !== undefined ? { credit: c.credit + unused.costNanoUsd - since.costNanoUsd } : {}),
  };
}

/** No lease takes more than this share of a limit in one refill... */
const LIMIT_SHARE = 8;
/** ...nor more than this share of what the counters had left at the last read. */
const REMAINING_SHARE = 4;

/**
 * How much a refill asks for: what the waiting request lacks (`deficit`, never cut), plus room
 * for `headroom` more requests like `per`, cut per counter to a share of the limit and of what is
 * left, so a lease is small where capacity is scarce and shrinks to the bare deficit (an exact
 * reservation) near a limit.
 */
export function leaseAsk(
  limits: EffectiveLimits,
  deficit: Amount,
  per: Amount,
  headroom: number,
  view: LeaseView | undefined,
): Amount {
  const { tenant, key, project } = limits;
  const c = view?.counters;
  const room = (want: number, caps: [number | undefined, number | undefined][]) => {
    let n = want;
    for (const [limit, used] of caps) {
      if (limit === undefined) continue;
      n = Math.min(n, Math.floor(limit / LIMIT_SHARE));
      if (used !== undefined) n = Math.min(n, Math.floor(Math.max(0, limit - used) / REMAINING_SHARE));
    }
    return Math.max(0, n);
  };
  const d = (n: number) => Math.max(0, n);
  // Requests are the unit of headroom: every other counter gets room for as many requests as fit.
  let requests = room(headroom, [
    [tenant.requestsPerMinute, c?.tenant?.requests],
    [project?.requestsPerMinute, c?.project?.requests],
    [key.requestsPerMinute, c?.key?.requests],
  ]);
  const roomFor = (per: number, extra: number) => (per > 0 ? Math.floor(extra / per) : requests);
  requests = Math.min(
    requests,
    roomFor(
      per.tokens,
      room(requests * per.tokens, [
        [tenant.tokensPerMinute, c?.tenant?.tokens],
        [project?.tokensPerMinute, c?.project?.tokens],
        [key.tokensPerMinute, c?.key?.tokens],
      ]),
    ),
    roomFor(
      per.costNanoUsd,
      room(requests * per.costNanoUsd, [
        [tenant.spendCapNanoUsd, c?.month?.costNanoUsd],
        // A project's budget is shared by the leases of all its keys: what it had left at the
        // last read bounds each refill, so near it every lease shrinks to exact reservations.
        [project?.spendCapNanoUsd, c?.projectMonth],
        [key.spendCapNanoUsd, undefined],
      ]),
    ),
    ...billingUnits.map((u) =>
      roomFor(
        per.units[u] ?? 0,
        room(requests * (per.units[u] ?? 0), [[tenant.monthlyUnits[u], c?.month?.units[u]]]),
      ),
    ),
    // A prepaid balance: a share of what it had left at the last read, like a limit's remainder.
    tenant.prepaid && c?.credit !== undefined
      ? roomFor(per.costNanoUsd, Math.floor(Math.max(0, c.credit) / REMAINING_SHARE))
      : requests,
  );
  const slots =
    tenant.maxConcurrent === undefined
      ? 0
      : Math.min(requests, room(requests, [[tenant.maxConcurrent, undefined]]));
  const units: Amount['units'] = {};
  for (const u of billingUnits) {
    const n = d(deficit.units[u] ?? 0) + requests * (per.units[u] ?? 0);
    if (n > 0) units[u] = n;
  }
  return {
    requests: d(deficit.requests) + requests,
    slots: d(deficit.slots) + slots,
    tokens: d(deficit.tokens) + requests * per.tokens,
    costNanoUsd: d(deficit.costNanoUsd) + requests * per.costNanoUsd,
    units,
  };
}

/** Whether a lease (still admitting at `now`) has room for `worst`. */
export function fits(
  lease: { closing: boolean; admitUntil: number; granted: Amount; used: Amount; ref: { inFlight: boolean } },
  worst: Amount,
  now: number,
): boolean {
  if (lease.closing || lease.admitUntil <= now) return false;
  const free = minus(lease.granted, lease.used);
  if (free.requests < worst.requests || free.tokens < worst.tokens || free.costNanoUsd < worst.costNanoUsd)
    return false;
  if (lease.ref.inFlight && free.slots < worst.slots) return false;
  for (const [u, n] of Object.entries(worst.units))
    if ((free.units[u as 'images'] ?? 0) < (n ?? 0)) return false;
  return true;
}

/** Whether `worst` lacks an in-flight slot in the lease (the limit is counted and none is free). */
export function needsSlot(
  lease: { granted: Amount; used: Amount; ref: { inFlight: boolean } },
  worst: Amount,
): boolean {
  return lease.ref.inFlight && lease.granted.slots - lease.used.slots < worst.slots;
}

/** A request's worst case as an amount: one request, one slot. */
export function worstOf(req: ReservationRequest): Amount {
  return { requests: 1, slots: 1, tokens: req.tokens, units: req.units, costNanoUsd: req.costNanoUsd };
}

/**
 * One lease per tenant for keys without limits of their own (the tenant's counters are all they
 * move, so every such key shares it); per tenant x key where the key has its own limits. Keys
 * without limits of their own in a project with limits share one lease per tenant x project (the
 * tenant's and the project's counters are all they move).
 */
export function leaseKey(req: ReservationRequest): string {
  return leaseKeyOf(req.tenantId, req.keyId, req.limits);
}

export function leaseKeyOf(tenantId: string, keyId: string, limits: EffectiveLimits): string {
  const own = Object.values(limits.key).some((v) => v !== undefined);
  if (own) return `${tenantId}#${keyId}`;
  return limits.project ? `${tenantId}#project#${limits.project.id}` : tenantId;
}
