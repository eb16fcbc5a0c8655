import type { LeaseView } from './lease-sizing';
import type { LeaseRef } from './lease-store';
import type { Amount, Refusal, Reservation } from './quota-types';

/** How a request was admitted: from this instance's lease (no store round trip), or its own reservation. */
export type Admission =
  | { kind: 'reservation'; reservation: Reservation }
  | { kind: 'lease'; lease: Lease; worst: Amount; reservation: Reservation };

export type AdmitResult = { ok: true; admission: Admission } | Refusal;

export interface AdmissionOptions {
  /** How long a lease admits requests after its last refill (0: no leases, a reservation per request). */
  leaseMs: number;
  /**
   * How long a lease's slots stay held without renewal (default 3 s): renewed while its requests
   * run, reclaimable by other instances once passed (see QUOTA_SLOT_TTL_MS).
   */
  slotTtlMs?: number;
  /** An idle lease (nothing in flight, nothing admitted) is given back by the next request after this long. */
  idleMs: number;
  now: () => Date;
  onError?: (err: unknown, what: string) => void;
}

/** One instance's lease for one tenant x key in one minute window, as this instance sees it. */
export interface Lease {
  ref: LeaseRef;
  id: string;
  fingerprint: string;
  admitUntil: number;
  ttlMs: number;
  granted: Amount;
  /**
   * Settled actual use (requests that failed count one request each) plus the worst case of
   * requests in flight: what is given back is `granted - used`.
   */
  used: Amount;
  holds: number;
  /** Requests to ask room for beyond the current demand; doubles while refills keep coming. */
  headroom: number;
  /** Requests the last refill granted: the lease refills ahead when half of that is left. */
  lastGrant: number;
  refill?: Promise<'ok' | 'refused' | 'gone'>;
  refusedAt?: number;
  /** When a refill was last refused for want of a slot the waiting request needed. */
  slotsRefusedAt?: number;
  view?: Promise<LeaseView | undefined>;
  closing: boolean;
  /** Slots being returned early while the lease closes. */
  returning?: Promise<void>;
  lastActivity: number;
  /** Until when the store holds this lease's slots for it (renewed while its requests run). */
  slotsUntil: number;
  /** Renews `slotsUntil` while requests are in flight (only then: a frozen instance has none). */
  renewal?: ReturnType<typeof setInterval>;
}
