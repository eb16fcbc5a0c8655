import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { ChannelParam, ChannelSchema, Day, dateRange } from '#api/console/usage-report';
import type { ConsoleEnv } from '#api/http/env';
import { FRESHNESS_NOTE, FreshnessSchema, usageAsOfHeaders, usageFreshness } from '#api/http/usage-freshness';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { addCounts, type Counts } from '#shared/metering/platform-usage';
import { formatUsd } from '#shared/metering/pricing';
import type { Channel } from '#shared/metering/usage-store';

const Query = z.object({
  start_date: Day.optional().openapi({ description: 'First day (UTC). Default: the 1st of this month.' }),
  end_date: Day.optional().openapi({ description: 'Last day (UTC). Default: today.' }),
  top: z.coerce
    .number()
    .int('must be a whole number')
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: 'How many top tenants (default 10).' }),
  channel: ChannelParam.openapi({
    description:
      'Only `online` calls or only `batch` lines in `by_day`, `by_model` and `totals`. Default: both, as separate rows. Top tenants are ranked by all their usage.',
  }),
});

const CountsSchema = z.object({
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  images: z.number().int(),
  cost_usd: z.string().openapi({ description: 'At list prices, before included units.' }),
});

const PlatformUsage = z
  .object({
    object: z.literal('platform_usage'),
    start_date: z.string(),
    end_date: z.string(),
    by_day: z.array(
      CountsSchema.extend({
        date: z.string(),
        model: z.string(),
        version: z.string(),
        channel: ChannelSchema,
      }),
    ),
    by_model: z.array(
      CountsSchema.extend({ model: z.string(), version: z.string(), channel: ChannelSchema }),
    ),
    totals: CountsSchema.extend({
      revenue_usd: z
        .string()
        .openapi({ description: 'Usage at list prices, every tenant, the whole range.' }),
    }),
    totals_by_channel: z.object({ online: CountsSchema, batch: CountsSchema }).openapi({
      description:
        'The totals of online calls and of batch lines (at the batch price) apart; they add up to `totals`.',
    }),
    top_tenants: z.object({
      months: z.array(z.string()).openapi({
        description:
          'Tenants are ranked by whole calendar months, by all their usage (online and batch together).',
      }),
      data: z.array(
        CountsSchema.extend({
          tenant_id: z.string(),
          name: z.string().nullable(),
          plan: z.string().nullable(),
        }),
      ),
    }),
    freshness: FreshnessSchema,
  })
  .openapi('PlatformUsage');

const route = createRoute({
  method: 'get',
  path: '/admin/usage',
  tags: ['Admin'],
  summary: 'Usage and revenue across tenants: by day, model version and channel, totals, top tenants',
  description:
    'Read from the aggregates the usage consumer derives from the usage records (Queries per shard, never a Scan). ' +
    'Top tenants are ranked by cost over the calendar months the range touches. ' +
    FRESHNESS_NOTE,
  security: sessionSecurity,
  request: { query: Query },
  responses: {
    200: {
      description: 'Platform usage',
      headers: usageAsOfHeaders,
      content: { 'application/json': { schema: PlatformUsage } },
    },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

const view = (c: Counts) => ({
  requests: c.requests,
  input_tokens: c.inputTokens,
  output_tokens: c.outputTokens,
  images: c.images,
  cost_usd: formatUsd(c.costNanoUsd),
});
const zero = (): Counts => ({ requests: 0, inputTokens: 0, outputTokens: 0, images: 0, costNanoUsd: 0 });

function monthsBetween(start: string, end: string): string[] {
  const months: string[] = [];
  const d = new Date(`${start.slice(0, 7)}-01T00:00:00Z`);
  while (d.toISOString().slice(0, 7) <= end.slice(0, 7)) {
    months.push(d.toISOString().slice(0, 7));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return months;
}

export function registerAdminUsage(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const { start, end } = dateRange(c, query);
    const deps = c.get('deps');
    const months = monthsBetween(start, end);
    const [all, monthly, freshness] = await Promise.all([
      deps.platformUsage.daily(start, end),
      Promise.all(months.map((m) => deps.platformUsage.tenantsInMonth(m))),
      usageFreshness(c),
    ]);
    const daily = query.channel ? all.filter((r) => r.channel === query.channel) : all;
    const totals = zero();
    const byChannel: Record<Channel, Counts> = { online: zero(), batch: zero() };
    const byModel = new Map<string, Counts & { model: string; version: string; channel: Channel }>();
    for (const r of daily) {
      addCounts(totals, r);
      addCounts(byChannel[r.channel], r);
      const id = `${r.model}@${r.version}#${r.channel}`;
      const m = byModel.get(id) ?? { model: r.model, version: r.version, channel: r.channel, ...zero() };
      addCounts(m, r);
      byModel.set(id, m);
    }
    const perTenant = new Map<string, Counts>();
    for (const t of monthly.flat()) {
      const sum = perTenant.get(t.tenantId) ?? zero();
      addCounts(sum, t);
      perTenant.set(t.tenantId, sum);
    }
    const top = [...perTenant.entries()]
      .sort(
        ([a, x], [b, y]) => y.costNanoUsd - x.costNanoUsd || y.requests - x.requests || a.localeCompare(b),
      )
      .slice(0, query.top ?? 10);
    const tenants = await Promise.all(top.map(([id]) => deps.accounts.tenants.get(id)));
    return c.json(
      {
        object: 'platform_usage' as const,
        start_date: start,
        end_date: end,
        by_day: daily.map((r) => ({
          date: r.day,
          model: r.model,
          version: r.version,
          channel: r.channel,
          ...view(r),
        })),
        by_model: [...byModel.values()]
          .sort((a, b) => b.costNanoUsd - a.costNanoUsd || a.model.localeCompare(b.model))
          .map((m) => ({ model: m.model, version: m.version, channel: m.channel, ...view(m) })),
        totals: { ...view(totals), revenue_usd: formatUsd(totals.costNanoUsd) },
        totals_by_channel: { online: view(byChannel.online), batch: view(byChannel.batch) },
        top_tenants: {
          months,
          data: top.map(([id, counts], i) => ({
            tenant_id: id,
            name: tenants[i]?.name ?? null,
            plan: tenants[i]?.plan ?? null,
            ...view(counts),
          })),
        },
        freshness,
      },
      200,
    );
  });
}
