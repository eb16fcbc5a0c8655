import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiError } from '../../../../../shared/errors';
import { formatUsd } from '../../../../../shared/metering/pricing';
import type { AppEnv } from '../../../env';
import { errorResponses } from '../../../schemas';

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    'is not a calendar date',
  );

const UsageQuery = z.object({
  start_date: Day.optional().openapi({
    description: 'First day (UTC), inclusive. Default: the 1st of this month.',
  }),
  end_date: Day.optional().openapi({ description: 'Last day (UTC), inclusive. Default: today.' }),
});

const Totals = z.object({
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  images: z.number().int(),
  cost_usd: z.string(),
});

const UsageResponse = z
  .object({
    object: z.literal('list'),
    start_date: z.string(),
    end_date: z.string(),
    data: z.array(
      Totals.extend({ date: z.string(), model: z.string(), version: z.string(), key_id: z.string() }),
    ),
    totals: Totals,
  })
  .openapi('UsageResponse');

const route = createRoute({
  method: 'get',
  path: '/v1/usage',
  tags: ['Usage'],
  summary: "Your tenant's usage and cost per day, model version and key",
  security: [{ apiKey: [] }],
  request: { query: UsageQuery },
  responses: {
    200: { description: 'Daily aggregates', content: { 'application/json': { schema: UsageResponse } } },
    ...errorResponses,
  },
});

const MAX_DAYS = 366;

export function registerUsageList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const today = c.get('deps').now().toISOString().slice(0, 10);
    const start = query.start_date ?? `${today.slice(0, 8)}01`;
    const end = query.end_date ?? today;
    if (start > end)
      throw new ApiError('invalid_request', "'start_date' must not be after 'end_date'.", {
        param: 'start_date',
      });
    if ((Date.parse(end) - Date.parse(start)) / 86_400_000 >= MAX_DAYS) {
      throw new ApiError('invalid_request', `A range may span at most ${MAX_DAYS} days.`, {
        param: 'start_date',
      });
    }
    const rows = await c.get('deps').usage.listDaily(c.get('principal').tenantId, start, end);
    const totals = { requests: 0, input_tokens: 0, output_tokens: 0, images: 0, cost: 0 };
    const data = rows.map((r) => {
      totals.requests += r.requests;
      totals.input_tokens += r.inputTokens;
      totals.output_tokens += r.outputTokens;
      totals.images += r.images;
      totals.cost += r.costNanoUsd;
      return {
        date: r.day,
        model: r.model,
        version: r.version,
        key_id: r.keyId,
        requests: r.requests,
        input_tokens: r.inputTokens,
        output_tokens: r.outputTokens,
        images: r.images,
        cost_usd: formatUsd(r.costNanoUsd),
      };
    });
    const { cost, ...counts } = totals;
    return c.json(
      {
        object: 'list' as const,
        start_date: start,
        end_date: end,
        data,
        totals: { ...counts, cost_usd: formatUsd(cost) },
      },
      200,
    );
  });
}
