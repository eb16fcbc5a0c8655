import type { Logger } from '../logger';
import { type ConsumerCheckpoint, freshness } from './usage-consumer';

/** How long one instance reuses the consumer's checkpoints (one Query) before reading them again. */
export const FRESHNESS_CACHE_MS = 1_000;

/** How fresh the usage aggregates are, as answers report it (`freshness` in the usage API). */
export interface Freshness {
  as_of: string | null;
  lag_ms: number | null;
}

const UNKNOWN: Freshness = { as_of: null, lag_ms: null };

/**
 * The aggregates' freshness as this instance reads it. The checkpoints are one Query, but the
 * console's pages read usage and limits together on every visit (the overview reads both), so one
 * instance reuses a read for at most `maxAgeMs` (1 s): answers are never staler than that on top of
 * the consumer's own lag, and concurrent reads share one Query. `lag_ms` is computed per answer.
 * A failed read answers "unknown" rather than failing a report whose figures were read fine.
 */
export class UsageFreshness {
  private cached?: { at: number; checkpoints: Promise<ConsumerCheckpoint[]> };

  constructor(
    private readonly source: { checkpoints(): Promise<ConsumerCheckpoint[]> },
    private readonly opts: {
      now: () => Date;
      log?: Logger;
      maxAgeMs?: number;
      /** Monotonic ms for the cache's age (not `now`, which tests may stop). */
      clock?: () => number;
    },
  ) {}

  async read(): Promise<Freshness> {
    const t = (this.opts.clock ?? performance.now.bind(performance))();
    let entry = this.cached;
    if (!entry || t - entry.at >= (this.opts.maxAgeMs ?? FRESHNESS_CACHE_MS)) {
      const fresh = { at: t, checkpoints: this.source.checkpoints() };
      // A failure is not kept: the next answer reads again.
      fresh.checkpoints.catch(() => {
        if (this.cached === fresh) this.cached = undefined;
      });
      this.cached = entry = fresh;
    }
    try {
      const f = freshness(await entry.checkpoints, this.opts.now());
      return { as_of: f.asOf, lag_ms: f.lagMs === null ? null : Math.round(f.lagMs) };
    } catch (err) {
      this.opts.log?.warn({ err }, 'usage freshness not read: answered as unknown');
      return UNKNOWN;
    }
  }
}
