import { newId } from '../ids';
import type { UsageEvent } from '../metering/usage-store';
import type { Admission, AdmissionOptions, AdmitResult, Lease } from './admission-types';
import { minus, plus, zero } from './counter-deltas';
import { counterFlags, impossible } from './grant-items';
import { KnownRefusals } from './known-refusals';
import { fits, leaseAsk, leaseKey, leaseKeyOf, needsSlot, viewCounts, viewOf, worstOf } from './lease-sizing';
import { LeaseSlots } from './lease-slots';
import type { EffectiveLimits } from './plans';
import type { QuotaStore } from './quota-store';
import type { Actual, Amount, Peek, Refusal, Reservation, ReservationRequest } from './quota-types';
import { windowsAt } from './windows';

export type { Admission, AdmissionOptions, AdmitResult, Lease } from './admission-types';

const MAX_HEADROOM = 64;

/**
 * Admission control in front of the quota store. Each instance leases a block of capacity per
 * tenant x key with one conditional transaction (the reservation machinery, for a bigger amount)
 * and admits requests from it in memory; refills go ahead of exhaustion in the background. Lease
 * sizes follow demand but never exceed an eighth of a limit or a quarter of what the counters had
 * left at the last read, and a refused refill sends requests to exact single reservations (the
 * store's own answer, as before leases), so near a limit admission is exact. Unused capacity is
 * given back when a later request finds the lease idle or its window over (no timers: a frozen
 * Lambda environment runs none), or, past the lease's expiry, by the sweeper or by an instance
 * that needs the room (from the lease's usage records).
 */
export class QuotaAdmission {
  private readonly leases = new Map<string, Lease>();
  /** Give-backs under way, by tenant: the slots they return are not free in the store until they commit. */
  private readonly givingBack = new Map<string, Set<Promise<void>>>();
  /** Retirements under way that no request waits for. */
  private readonly pending = new Set<Promise<void>>();
  /** Give-backs finished, by tenant (a refusal that raced one is tried again). */
  private readonly givenBack = new Map<string, number>();
  /** Minute request limits the store refused, until their minute ends. */
  private readonly refusals = new KnownRefusals();

  /** The leases' concurrency slots: their hold in the store, renewal, early return. */
  private readonly slots: LeaseSlots;

  constructor(
    private readonly store: QuotaStore,
    private readonly opts: AdmissionOptions,
  ) {
    this.slots = new LeaseSlots(store.leases, {
      slotTtlMs: opts.slotTtlMs,
      now: () => this.opts.now(),
      onError: (err, what) => this.opts.onError?.(err, what),
      track: (tenantId, work) => this.track(tenantId, work),
    });
  }

  async admit(req: ReservationRequest): Promise<AdmitResult> {
    const worst = worstOf(req);
    // Larger than a whole window's allowance: refused before any lease is asked (a first refill
    // would otherwise find no counter to compare with), as the exact reservation refuses it.
    const tooBig = impossible(req.limits, worst, req.now);
    if (tooBig) return tooBig;
    this.retireStale(this.opts.now().getTime());
    const known = this.knownRefusal(req, worst);
    if (known) return known;
    if (this.opts.leaseMs > 0) {
      for (let attempt = 0; attempt < 16; attempt++) {
        const lease = this.leaseFor(req);
        const at = this.opts.now().getTime();
        if (fits(lease, worst, at) && this.slots.fresh(lease, worst, at))
          return { ok: true, admission: this.hold(lease, worst, req) };
        const now = this.opts.now().getTime();
        if (lease.refusedAt !== undefined && now - lease.refusedAt < 1_000) break;
        // No slot to be had a moment ago: a request that needs one goes to the store's exact
        // answer directly rather than asking the lease again first (one round trip, not two).
        if (
          lease.slotsRefusedAt !== undefined &&
          now - lease.slotsRefusedAt < 1_000 &&
          needsSlot(lease, worst)
        )
          break;
        const outcome = await this.refill(lease, req, worst);
        // Refused: what the lease still has is used first; past that, the store decides exactly.
        if (outcome === 'refused') {
          const at = this.opts.now().getTime();
          if (fits(lease, worst, at) && this.slots.fresh(lease, worst, at))
            return { ok: true, admission: this.hold(lease, worst, req) };
          break;
        }
      }
    }
    const givenBackBefore = this.givenBack.get(req.tenantId) ?? 0;
    let r = await this.store.reserve(req);
    if (
      !r.ok &&
      r.limit === 'concurrency_limit' &&
      ((await this.giveBackIdle(req.tenantId)) || (this.givenBack.get(req.tenantId) ?? 0) > givenBackBefore)
    ) {
      // Idle leases of this tenant here (other keys', or one just retired at a minute's end or
      // when idle) held in-flight slots: given back (now, or while the reservation was being
      // refused), try again.
      r = await this.store.reserve(req);
    }
    if (!r.ok && r.limit === 'concurrency_limit') {
      // Leases of other instances that stopped renewing their slots (frozen with nothing in
      // flight, or dead) hold them no longer: freed here, where they are needed, and tried again.
      const freed = await this.store.leases.reclaimSlots(req.tenantId, this.opts.now().getTime());
      if (freed > 0) r = await this.store.reserve(req);
    }
    if (r.ok) return { ok: true, admission: { kind: 'reservation', reservation: r.reservation } };
    // The store is full; but this instance's lease may have been granted room while the
    // reservation was tried (a refill commits before its answer arrives): that room is used first,
    // so leasing never refuses a request that capacity held here could serve.
    const lease = this.opts.leaseMs > 0 ? this.leases.get(leaseKey(req)) : undefined;
    if (lease) {
      await lease.refill?.catch(() => {});
      const at = this.opts.now().getTime();
      if (fits(lease, worst, at) && this.slots.fresh(lease, worst, at))
        return { ok: true, admission: this.hold(lease, worst, req) };
    }
    this.noteRefusal(req, r);
    return r;
  }

  /**
   * A per-minute request limit the store refused this minute stays refused here until the minute
   * ends (`KnownRefusals`), unless this instance's own lease still has room for the request.
   */
  private knownRefusal(req: ReservationRequest, worst: Amount): Refusal | undefined {
    const now = this.opts.now().getTime();
    const refusal = this.refusals.find(
      [
        [req.tenantId, req.limits.tenant.requestsPerMinute],
        ...(req.limits.project
          ? [
              [
                projectScopeId(req.tenantId, req.limits.project.id),
                req.limits.project.requestsPerMinute,
              ] as const,
            ]
          : []),
        [`${req.tenantId}#${req.keyId}`, req.limits.key.requestsPerMinute],
      ],
      now,
    );
    if (!refusal) return undefined;
    const lease = this.leases.get(leaseKey(req));
    if (lease && fits(lease, worst, now) && this.slots.fresh(lease, worst, now)) return undefined;
    return refusal;
  }

  private noteRefusal(req: ReservationRequest, r: AdmitResult) {
    if (r.ok) return;
    const id =
      r.scope === 'tenant'
        ? req.tenantId
        : r.scope === 'project' && req.limits.project
          ? projectScopeId(req.tenantId, req.limits.project.id)
          : `${req.tenantId}#${req.keyId}`;
    this.refusals.note(id, r, req.now.getTime());
  }

  /**
   * Records a served request: its usage record, one conditional PutItem (see the stores). A
   * single reservation is then corrected to the actual use (given back what it did not use); if
   * that fails, the sweeper does it from the record.
   */
  async settle(
    a: Admission,
    actual: Actual,
    event: UsageEvent,
    opts: { recorded?: boolean } = {},
  ): Promise<'recorded' | 'duplicate'> {
    if (opts.recorded) return this.settleRecorded(a, actual);
    if (a.kind === 'reservation') return this.store.settle(a.reservation, actual, event);
    try {
      const lease = a.lease;
      const out = await this.store.leases.settle(lease.ref, actual, event, {
        now: this.opts.now(),
        expiresAt: new Date(lease.admitUntil + lease.ttlMs).toISOString(),
      });
      if (out === 'recorded') lease.used = plus(lease.used, { ...actual, requests: 0, slots: 0 });
      // A request id recorded before is not a new request: it does not count again.
      else lease.used = minus(lease.used, { ...zero(), requests: 1 });
      return out;
    } finally {
      this.unhold(a);
    }
  }

  /**
   * Settles a request whose usage record was already written (`recordFor`, before or while the
   * model ran): a leased one in memory only; a single reservation corrected to the actual use (or,
   * if the sweeper released it meanwhile, the actual use counted in full).
   */
  private async settleRecorded(a: Admission, actual: Actual): Promise<'recorded'> {
    if (a.kind === 'reservation') {
      await this.store.settleRecorded(a.reservation, actual);
      return 'recorded';
    }
    a.lease.used = plus(a.lease.used, { ...actual, requests: 0, slots: 0 });
    this.unhold(a);
    return 'recorded';
  }

  /**
   * The lease (or reservation) id a usage record written ahead of the answer must name, so that
   * the sweeper counts it against what it was admitted from. Undefined when the lease may be given
   * back before the request ends (then the record is written without it: see LeaseStore.settle).
   */
  recordLeaseId(a: Admission): string | undefined {
    if (a.kind === 'reservation') return a.reservation.requestId;
    const expiresAt = a.lease.admitUntil + a.lease.ttlMs;
    return this.opts.now().getTime() < expiresAt - 5_000 ? a.lease.ref.leaseId : undefined;
  }

  /** A failed request gives back what it held: its lease's room locally, or its reservation. */
  async release(a: Admission): Promise<boolean> {
    if (a.kind === 'reservation') return this.store.release(a.reservation);
    // Its request still counts against the per-minute limit (unhold keeps it), as a released
    // reservation's does.
    this.unhold(a);
    return true;
  }

  /**
   * What this instance's lease says about a tenant x key's counters: the minute windows and the
   * month as read after its last refill, corrected by what the lease still holds unused now.
   * With the request's `limits`, the lease those limits admit from (a project's shared one too).
   */
  async peek(
    tenantId: string,
    keyId: string,
    now: Date,
    limits?: EffectiveLimits,
  ): Promise<Peek | undefined> {
    const lease = limits
      ? this.leases.get(leaseKeyOf(tenantId, keyId, limits))
      : (this.leases.get(`${tenantId}#${keyId}`) ?? this.leases.get(tenantId));
    if (!lease || lease.closing || lease.ref.minute !== windowsAt(now).minute) return undefined;
    const view = await lease.view;
    if (!view) return undefined;
    return viewCounts(view, lease.granted, lease.used);
  }

  /**
   * Gives back this tenant's leases with nothing in flight here, and waits for its give-backs
   * already under way; whether there were any.
   */
  private async giveBackIdle(tenantId: string): Promise<boolean> {
    const idle = [...this.leases.values()].filter(
      (l) => l.ref.tenantId === tenantId && l.holds === 0 && l.granted.slots > 0,
    );
    const pending = [...(this.givingBack.get(tenantId) ?? [])];
    await Promise.all([...idle.map((l) => this.retire(l)), ...pending]);
    if (idle.length + pending.length === 0) return false;
    // Refills refused for want of those slots may ask again.
    for (const l of this.leases.values()) {
      if (l.ref.tenantId !== tenantId) continue;
      l.refusedAt = undefined;
      l.slotsRefusedAt = undefined;
    }
    return true;
  }

  /** Gives back every lease with nothing in flight (shutdown, tests). */
  async close(): Promise<void> {
    await Promise.all([...this.leases.values()].map((l) => this.retire(l)));
    // Give-backs started in the background (a lease retired when its last request ended) too.
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Work a request starts and does not wait for (a give-back): tracked so that close() can. */
  private background(work: Promise<void>) {
    this.pending.add(work);
    work.finally(() => this.pending.delete(work)).catch(() => {});
  }

  private leaseFor(req: ReservationRequest): Lease {
    const id = leaseKey(req);
    const now = req.now.getTime();
    const fingerprint = JSON.stringify(req.limits);
    const w = windowsAt(req.now);
    const current = this.leases.get(id);
    if (
      current &&
      !current.closing &&
      !this.slots.lapsed(current, now) &&
      current.fingerprint === fingerprint &&
      current.ref.minute === w.minute
    ) {
      // Past its admission window it is refilled (which renews the window), not replaced: what it
      // holds stays usable here instead of waiting to be given back.

      return current;
    }
    if (current) this.background(this.retire(current));
    const lease: Lease = {
      id,
      ref: {
        leaseId: newId('lse', now),
        tenantId: req.tenantId,
        keyId: req.keyId,
        minute: w.minute,
        month: w.month,
        ...counterFlags(req.limits),
      },
      fingerprint,
      admitUntil: 0,
      ttlMs: req.ttlMs,
      granted: zero(),
      used: zero(),
      holds: 0,
      // A lease that replaces one of the same tenant x key (a new minute) starts at the size its
      // predecessor had reached: a steady load does not ramp up again every minute.
      headroom: current ? Math.max(4, Math.min(current.headroom, MAX_HEADROOM)) : 4,
      lastGrant: 0,
      closing: false,
      lastActivity: now,
      slotsUntil: 0,
    };
    this.leases.set(id, lease);
    return lease;
  }

  private hold(lease: Lease, worst: Amount, req: ReservationRequest): Admission {
    lease.used = plus(lease.used, worst);
    lease.holds++;
    this.slots.renewWhileHeld(lease);
    lease.lastActivity = req.now.getTime();
    // Refill ahead: when less than half the headroom is left, or the admission window is half gone
    // (unless it ends with the minute: no refill can take it further, and asking on every request
    // of a minute's last seconds would be a transaction each). Slots are not a reason: they come
    // back to the lease as its requests finish.
    const at = req.now.getTime();
    const free = minus(lease.granted, lease.used);
    const low = free.requests < Math.ceil(lease.lastGrant / 2) || !fits(lease, { ...worst, slots: 0 }, at);
    const minuteEnd = Math.floor(at / 60_000 + 1) * 60_000;
    const windowLow = lease.admitUntil - at < this.opts.leaseMs / 2 && lease.admitUntil < minuteEnd;
    if ((low || windowLow) && !lease.refill) {
      void this.refill(lease, req, zero()).catch(() => {});
    }
    const reservation: Reservation = {
      ...lease.ref,
      requestId: req.requestId,
      tokens: worst.tokens,
      units: worst.units,
      costNanoUsd: worst.costNanoUsd,
      expiresAt: new Date(lease.admitUntil + lease.ttlMs).toISOString(),
    };
    return { kind: 'lease', lease, worst, reservation };
  }

  private unhold(a: Extract<Admission, { kind: 'lease' }>) {
    const lease = a.lease;
    lease.used = minus(lease.used, { ...a.worst, requests: 0 });
    lease.holds--;
    lease.lastActivity = this.opts.now().getTime();
    if (lease.holds === 0) this.slots.stopRenewal(lease);
    if (lease.closing && lease.holds === 0) this.background(this.retire(lease));
  }

  /**
   * Gives back the leases this instance no longer needs (their minute over, or idle), checked
   * whenever a request comes in: no timer is needed (a frozen Lambda environment runs none). A
   * lease whose instance never runs again is given back by whoever reclaims it after its expiry.
   */
  private retireStale(now: number) {
    for (const lease of this.leases.values()) {
      if (lease.holds > 0 || lease.refill) continue;
      const minuteEnd = Date.parse(`${lease.ref.minute}:00.000Z`) + 60_000;
      if (now >= minuteEnd || now - lease.lastActivity >= this.opts.idleMs)
        this.background(this.retire(lease));
    }
  }

  /** One refill at a time per lease; concurrent callers share it. */
  private refill(lease: Lease, req: ReservationRequest, need: Amount): Promise<'ok' | 'refused' | 'gone'> {
    if (lease.refill) return lease.refill;
    const run = async (): Promise<'ok' | 'refused' | 'gone'> => {
      const view = await lease.view?.catch(() => undefined);
      const deficit = minus(need, minus(lease.granted, lease.used));
      let ask = leaseAsk(req.limits, deficit, worstOf(req), lease.headroom, view);
      // Slots beyond what the waiting request lacks are room to grow, never more than the limit
      // leaves beside what this lease already holds.
      const neededSlots = Math.max(0, deficit.slots);
      const max = req.limits.tenant.maxConcurrent;
      if (max !== undefined)
        ask = { ...ask, slots: Math.max(neededSlots, Math.min(ask.slots, max - lease.granted.slots)) };
      const now = this.opts.now().getTime();
      // A lease admits within its own minute window only (the minute counters it moved are that window's).
      const admitUntil = Math.min(
        now + this.opts.leaseMs,
        Math.floor(req.now.getTime() / 60_000 + 1) * 60_000,
      );
      const grant = (amount: Amount) =>
        this.store.leases.grant(
          {
            tenantId: req.tenantId,
            keyId: req.keyId,
            now: req.now,
            limits: req.limits,
            flags: { ...lease.ref, keyMonth: lease.ref.keyMonth ?? false, credit: lease.ref.credit ?? false },
            until: new Date(admitUntil),
          },
          {
            leaseId: lease.ref.leaseId,
            expiresAt: new Date(admitUntil + lease.ttlMs).toISOString(),
            extend: lease.admitUntil > 0,
            ...(lease.ref.inFlight ? { slotsUntil: now + this.slots.ttlMs } : {}),
          },
          amount,
        );
      let out = await grant(ask);
      if (!out.ok && !('gone' in out) && out.limit === 'concurrency_limit' && ask.slots > neededSlots) {
        // Other instances hold the rest of the tenant's slots: the requests, tokens and cost this
        // lease needs are not refused for want of room to grow.
        ask = { ...ask, slots: neededSlots };
        out = await grant(ask);
      }
      if (!out.ok) {
        if ('gone' in out) {
          lease.closing = true;
          return 'gone';
        }
        // Refused by a per-minute or month limit: single reservations (the store's exact answer)
        // for a while. Refused for a slot: the next request that needs one asks again, while those
        // that do not still use the lease's own slots.
        if (out.limit !== 'concurrency_limit') lease.refusedAt = now;
        else lease.slotsRefusedAt = now;
        lease.headroom = 1;
        return 'refused';
      }
      lease.granted = plus(lease.granted, ask);
      this.slots.granted(lease, now);
      lease.lastGrant = ask.requests;
      lease.admitUntil = admitUntil;
      lease.refusedAt = undefined;
      lease.slotsRefusedAt = undefined;
      lease.headroom = Math.min(MAX_HEADROOM, lease.headroom * 2);
      const grantedAtRead = lease.granted;
      lease.view = this.store
        .peek(req.tenantId, req.keyId, req.now, {
          credit: req.limits.tenant.prepaid === true,
          project: req.limits.project,
        })
        .then((counters) => viewOf(counters, grantedAtRead))
        .catch(() => undefined);
      return 'ok';
    };
    lease.refill = run().finally(() => {
      lease.refill = undefined;
    });
    return lease.refill;
  }

  /** Stops admitting from a lease and gives back what it holds once nothing is in flight. */
  private async retire(lease: Lease): Promise<void> {
    lease.closing = true;
    if (lease.holds === 0) this.slots.stopRenewal(lease);
    if (this.leases.get(lease.id) === lease) this.leases.delete(lease.id);
    if (lease.holds > 0 || lease.refill) {
      if (lease.refill) await lease.refill.catch(() => {});
      if (lease.holds > 0) {
        // Its slots that no request holds are free now, not when the last request ends.
        await this.slots.returnFree(lease);
        // The last settle or release retires it again; the sweeper is the fallback.
        return;
      }
    }
    if (lease.admitUntil === 0) return;
    lease.admitUntil = 0;
    await lease.returning;
    await this.track(
      lease.ref.tenantId,
      this.store.leases
        .giveBack(lease.ref.tenantId, lease.ref.leaseId, { now: this.opts.now(), used: lease.used })
        .then(
          () => {},
          (err: unknown) => this.opts.onError?.(err, 'lease not given back; the sweeper will'),
        ),
    );
  }

  /** Counts a give-back as under way for its tenant until it settles. */
  private async track(tenantId: string, work: Promise<void>): Promise<void> {
    const set = this.givingBack.get(tenantId) ?? new Set();
    this.givingBack.set(tenantId, set.add(work));
    try {
      await work;
    } finally {
      set.delete(work);
      if (set.size === 0 && this.givingBack.get(tenantId) === set) this.givingBack.delete(tenantId);
      this.givenBack.set(tenantId, (this.givenBack.get(tenantId) ?? 0) + 1);
    }
  }
}

/** What a project's refused per-minute request limit is remembered by (beside tenants and keys). */
function projectScopeId(tenantId: string, projectId: string): string {
  return `${tenantId}#project#${projectId}`;
}
