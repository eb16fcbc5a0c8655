import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Logger } from '../../shared/logger';
import { type ConsumerCheckpoint, freshness } from '../../shared/metering/usage-consumer';
import type { AppEnv } from './env';

/**
 * How fresh the usage aggregates are. Usage reports, the platform overview and the month's use of
 * `GET /account/limits` read aggregates that the usage stream's consumer derives off the answer's
 * path (docs/metering.md), so they lag the ledger by the consumer's lag. Every answer that reports
 * them says so: a `freshness` field and, when known, an `x-usage-as-of` header.
 */

/** The response header naming the time the aggregates are complete up to (ISO 8601, UTC). */
export const USAGE_AS_OF_HEADER = 'x-usage-as-of';

/** How long one instance reuses the consumer's checkpoints (one Query) before reading them again. */
export const FRESHNESS_CACHE_MS = 1_000;

const NOTE =
  'Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind.';

export const FreshnessSchema = z
  .object({
    as_of: z
      .string()
      .nullable()
      .openapi({
        description: `The aggregates include every request recorded up to this time (ISO 8601, UTC). ${NOTE} Null when not known (the consumer has not reported yet).`,
        example: '2026-11-02T12:03:41.250Z',
      }),
    lag_ms: z.number().int().nullable().openapi({
      description:
        'How far behind the answer `as_of` was when it was served, in milliseconds (typically under a second). Null when not known.',
      example: 850,
    }),
  })
  .openapi('UsageFreshness', {
    description: `How fresh the usage figures in this answer are: they are derived from the usage records off the request path. ${NOTE}`,
  });

export type Freshness = z.infer<typeof FreshnessSchema>;

/** A sentence for the descriptions of routes that answer usage from the aggregates. */
export const FRESHNESS_NOTE =
  'The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): ' +
  '`freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.';

/** The `x-usage-as-of` header as documented on the routes that set it. */
export const usageAsOfHeaders = {
  [USAGE_AS_OF_HEADER]: {
    description: `The time the usage figures are complete up to (the \`freshness.as_of\` of a JSON answer), when known. ${NOTE}`,
    schema: { type: 'string' as const, format: 'date-time' },
  },
};

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

/** Reads the freshness and sets `x-usage-as-of` on the answer being built (JSON or CSV) when known. */
export async function usageFreshness(c: Context<AppEnv>): Promise<Freshness> {
  const f = await c.get('deps').usageFreshness.read();
  setUsageAsOf(c, f);
  return f;
}

export function setUsageAsOf(c: Context<AppEnv>, f: Freshness): void {
  if (f.as_of) c.header(USAGE_AS_OF_HEADER, f.as_of);
}
