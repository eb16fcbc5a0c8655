/** What a credit grant is: bought (paid), given (promotional), or a new tenant's trial. */
export type CreditKind = 'paid' | 'promotional' | 'trial';

export const creditKinds: readonly CreditKind[] = ['paid', 'promotional', 'trial'];

/** A grant's life: `active`, then at its expiry `expiring` (provisional) and `expired` (exact). */
export type GrantStatus = 'active' | 'expiring' | 'expired';

export interface CreditGrant {
  id: string;
  tenantId: string;
  kind: CreditKind;
  amountNanoUsd: number;
  /** What requests burned of it (settled into burn entries). */
  burnedNanoUsd: number;
  /**
   * What left the balance at expiry: provisional while `expiring` (everything not burned when it
   * expired), exact once `expired` (what requests started before the expiry did not burn).
   */
  expiredNanoUsd: number;
  status: GrantStatus;
  createdAt: string;
  expiresAt: string;
  note: string | null;
  grantedBy: string;
  /** Credit bought through the payment provider: which payment, and its receipt. */
  payment?: GrantPayment;
}

/** The payment behind a paid grant bought through Stripe (a top-up or an auto-recharge). */
export interface GrantPayment {
  provider: 'stripe';
  paymentId: string;
  purpose: 'top_up' | 'auto_recharge';
  amountCents: number;
  currency: string;
  /** Stripe's hosted receipt of the charge. */
  receiptUrl: string | null;
  card: { brand: string; last4: string } | null;
  /** When it was paid (ISO). */
  paidAt: string;
}

/**
 * The order grants burn in: promotional credit before paid (a trial grant is promotional credit),
 * then the earliest expiry first, then the oldest grant first.
 */
export function burnOrder(a: CreditGrant, b: CreditGrant): number {
  const rank = (g: CreditGrant) => (g.kind === 'paid' ? 1 : 0);
  return (
    rank(a) - rank(b) ||
    (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Whether a grant may pay for a request started at `at` (ms): made before it, not expired by then. */
export function validAt(g: CreditGrant, at: number): boolean {
  return Date.parse(g.createdAt) <= at && at < Date.parse(g.expiresAt);
}

/** A use to burn: its cost and when its request started. */
export interface Use {
  at: number;
  costNanoUsd: number;
}

export interface Allocation {
  /** Per grant id: what it burns and for how many requests. */
  burns: Map<string, { nanoUsd: number; requests: number }>;
  /** What no grant valid at the request's start could pay (only a request that outlived its hold). */
  uncoveredNanoUsd: number;
}

/**
 * Burns `uses` (in the order given) down the grants valid when each request started, in burn
 * order, each grant up to what is left of it (`amount - burned`, counting this allocation). Pure:
 * the caller writes the result.
 */
export function allocate(grants: CreditGrant[], uses: Use[]): Allocation {
  const ordered = [...grants].sort(burnOrder);
  const left = new Map(ordered.map((g) => [g.id, g.amountNanoUsd - g.burnedNanoUsd]));
  const burns: Allocation['burns'] = new Map();
  let uncoveredNanoUsd = 0;
  for (const use of uses) {
    let rest = use.costNanoUsd;
    const touched = new Set<string>();
    for (const g of ordered) {
      if (rest <= 0) break;
      if (!validAt(g, use.at)) continue;
      const take = Math.min(rest, left.get(g.id) ?? 0);
      if (take <= 0) continue;
      left.set(g.id, (left.get(g.id) ?? 0) - take);
      const b = burns.get(g.id) ?? { nanoUsd: 0, requests: 0 };
      b.nanoUsd += take;
      if (!touched.has(g.id)) b.requests++;
      touched.add(g.id);
      burns.set(g.id, b);
      rest -= take;
    }
    uncoveredNanoUsd += rest;
  }
  return { burns, uncoveredNanoUsd };
}
