import type { Lease } from './admission-types';
import type { LeaseStore } from './lease-store';
import type { Amount } from './quota-types';

/**
 * A lease's concurrency slots as this instance holds them. The store holds them for a TTL
 * (QUOTA_SLOT_TTL_MS, default 3 s) from the last grant or renewal; while the lease's requests run
 * (and only then: the process is running them) they are renewed every third of it, so a frozen or
 * dead instance stops renewing and its slots come free to whoever needs them
 * (LeaseStore.reclaimSlots). A closing lease returns the slots no request holds at once.
 */
export class LeaseSlots {
  /** How long the store holds a lease's slots without renewal, in ms. */
  readonly ttlMs: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly opts: {
      slotTtlMs?: number;
      now: () => Date;
      onError?: (err: unknown, what: string) => void;
      /** Counts a store write that frees capacity as under way for its tenant (QuotaAdmission). */
      track: (tenantId: string, work: Promise<void>) => Promise<void>;
    },
  ) {
    this.ttlMs = opts.slotTtlMs ?? 3_000;
  }

  /** Whether the lease may still give `worst` an in-flight slot: held for at least half a TTL more. */
  fresh(lease: Lease, worst: Amount, now: number): boolean {
    return !lease.ref.inFlight || worst.slots === 0 || now < lease.slotsUntil - this.ttlMs / 2;
  }

  /** A lease idle past its slots' hold may have lost them to another instance (it is replaced). */
  lapsed(lease: Lease, now: number): boolean {
    return (
      lease.ref.inFlight &&
      lease.admitUntil > 0 &&
      lease.holds === 0 &&
      !lease.refill &&
      now >= lease.slotsUntil
    );
  }

  /** Notes a grant the store holds the slots for from `now`. */
  granted(lease: Lease, now: number): void {
    if (lease.ref.inFlight) lease.slotsUntil = now + this.ttlMs;
  }

  /**
   * Renews the lease's slots while it has requests in flight. A renewal refused means the slots
   * were reclaimed (this instance stalled longer than the hold): the lease admits no more.
   */
  renewWhileHeld(lease: Lease): void {
    if (!lease.ref.inFlight || lease.renewal) return;
    lease.renewal = setInterval(() => {
      // A refill under way renews the slots itself (and changes what the lease holds).
      if (lease.refill) return;
      const until = this.opts.now().getTime() + this.ttlMs;
      this.store
        .renewSlots(lease.ref, until, lease.granted.slots)
        .then((held) => {
          if (held) lease.slotsUntil = until;
          else {
            lease.closing = true;
            this.stopRenewal(lease);
          }
        })
        .catch((err: unknown) => this.opts.onError?.(err, 'lease slots not renewed'));
    }, this.ttlMs / 3);
    lease.renewal.unref?.();
  }

  stopRenewal(lease: Lease): void {
    if (lease.renewal) clearInterval(lease.renewal);
    lease.renewal = undefined;
  }

  /** Returns a closing lease's slots beyond those its requests in flight hold (one at a time). */
  async returnFree(lease: Lease): Promise<void> {
    if (lease.returning || lease.admitUntil === 0 || !lease.ref.inFlight) return lease.returning;
    const n = lease.granted.slots - lease.holds;
    if (n <= 0) return;
    lease.returning = this.opts
      .track(
        lease.ref.tenantId,
        this.store.returnSlots(lease.ref, n).then(
          (ok) => {
            if (ok) lease.granted = { ...lease.granted, slots: lease.granted.slots - n };
          },
          (err: unknown) => this.opts.onError?.(err, 'lease slots not returned early'),
        ),
      )
      .finally(() => {
        lease.returning = undefined;
      });
    return lease.returning;
  }
}
