import type { Refusal } from './quota-types';

/** How many tenants (or tenant x keys) are remembered at once; the oldest is forgotten first. */
const MAX_REMEMBERED = 10_000;

/**
 * Per-minute request limits the store has refused this minute, by tenant or tenant#key, until
 * their minute ends: later requests are refused from memory, with no store round trip. (Capacity
 * another instance gives back later in the same minute is not seen: at most a request is refused
 * that could have been served, never the reverse.)
 */
export class KnownRefusals {
  private readonly exhausted = new Map<string, { until: number; refusal: Refusal }>();

  /** Remembers a `rate_limit_requests` refusal of `scopeId` until the end of `now`'s minute. */
  note(scopeId: string, refusal: Refusal, now: number): void {
    if (refusal.limit !== 'rate_limit_requests') return;
    const until = Math.floor(now / 60_000 + 1) * 60_000;
    this.exhausted.set(scopeId, { until, refusal });
    if (this.exhausted.size > MAX_REMEMBERED) this.exhausted.delete(this.exhausted.keys().next().value!);
  }

  /**
   * The refusal remembered for the first of `scopes` (id and its current limit) still refused at
   * `now`, its Retry-After counted to the minute's end. A minute that is over, or a limit that
   * changed since (a plan edited, an override set), is forgotten: the store decides again.
   */
  find(
    scopes: readonly (readonly [id: string, limit: number | undefined])[],
    now: number,
  ): Refusal | undefined {
    if (this.exhausted.size === 0) return undefined;
    for (const [id, limit] of scopes) {
      const known = this.exhausted.get(id);
      if (!known) continue;
      if (now >= known.until || known.refusal.limitValue !== limit) {
        this.exhausted.delete(id);
        continue;
      }
      return { ...known.refusal, retryAfterSec: Math.max(1, Math.ceil((known.until - now) / 1000)) };
    }
    return undefined;
  }
}
