import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Freshness, UsageFreshness } from '#shared/metering/usage-freshness';
import type { AppEnv, CoreDeps } from './env';

/**
 * How fresh the usage aggregates are. Usage reports, the platform overview and the month's use of
 * `GET /account/limits` read aggregates that the usage stream's consumer derives off the answer's
 * path (docs/metering.md), so they lag the ledger by the consumer's lag. Every answer that reports
 * them says so: a `freshness` field and, when known, an `x-usage-as-of` header.
 */

/** The response header naming the time the aggregates are complete up to (ISO 8601, UTC). */
export const USAGE_AS_OF_HEADER = 'x-usage-as-of';

export { FRESHNESS_CACHE_MS, UsageFreshness } from '#shared/metering/usage-freshness';

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

export type { Freshness } from '#shared/metering/usage-freshness';

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

/** Reads the freshness and sets `x-usage-as-of` on the answer being built (JSON or CSV) when known. */
export async function usageFreshness<D extends CoreDeps & { usageFreshness: UsageFreshness }>(
  c: Context<AppEnv<D>>,
): Promise<Freshness> {
  const f = await c.get('deps').usageFreshness.read();
  setUsageAsOf(c, f);
  return f;
}

export function setUsageAsOf(c: Context, f: Freshness): void {
  if (f.as_of) c.header(USAGE_AS_OF_HEADER, f.as_of);
}
