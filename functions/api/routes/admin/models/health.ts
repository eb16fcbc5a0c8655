import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { Day, dateRange } from '#api/console/usage-report';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { PERCENTILE_ERROR } from '#shared/observability/latency-histogram';
import { failingAlert } from '#shared/observability/model-health';
import type { ModelVersionHealth } from '#shared/observability/model-health-store';

const Query = z.object({
  start_date: Day.optional().openapi({ description: 'First day (UTC). Default: the 1st of this month.' }),
  end_date: Day.optional().openapi({ description: 'Last day (UTC). Default: today.' }),
});

const rate = z.number().min(0).max(1);
const ms = z.number().nullable().openapi({ description: 'null when no request succeeded.' });

const Health = z
  .object({
    object: z.literal('list'),
    start_date: z.string(),
    end_date: z.string(),
    data: z.array(
      z.object({
        model_version: z.string().openapi({
          description: '`name@version`; `none` for refusals and failures before a version was resolved.',
        }),
        requests: z.number().int().openapi({ description: 'Answered: the four outcomes below, summed.' }),
        succeeded: z.number().int().openapi({ description: '2xx.' }),
        refused: z
          .number()
          .int()
          .openapi({ description: '429 (limits, quota, spend cap) and 403 (account state).' }),
        failed: z.number().int().openapi({ description: '5xx: the model or the platform failed.' }),
        client_errors: z
          .number()
          .int()
          .openapi({ description: 'Other 4xx: bad input; neither refused nor failed.' }),
        refusal_rate: rate.openapi({ description: 'refused / requests (a fraction).' }),
        error_rate: rate.openapi({ description: 'failed / requests (a fraction).' }),
        latency_ms: z.object({ p50: ms, p90: ms, p99: ms }).openapi({
          description:
            `Succeeded requests, to the last byte of a stream; nearest-rank, read from a histogram with ` +
            `buckets 10% wide: within ${(PERCENTILE_ERROR.relative * 100).toFixed(1)}% ` +
            `(${PERCENTILE_ERROR.absoluteMs} ms below 1 ms) of the exact value.`,
        }),
        refusals_by_code: z.record(z.string(), z.number().int()),
        errors_by_code: z.record(z.string(), z.number().int()),
        alert: z.string().nullable().openapi({
          description:
            'Set when the version is failing: at least 3 failures and at least half of its answers were 5xx (for example every call answering `model_not_installed`). The console shows these first.',
        }),
      }),
    ),
  })
  .openapi('ModelHealth');

const route = createRoute({
  method: 'get',
  path: '/admin/models/health',
  tags: ['Admin'],
  summary: 'Per model version: answers, refusal and error rates, latency percentiles',
  description:
    'Each API instance counts in memory and adds its counts to one item per day and model version ' +
    'every HEALTH_FLUSH_MS, so the last few seconds may not show yet. Busiest first.',
  security: sessionSecurity,
  request: { query: Query },
  responses: {
    200: { description: 'Model version health', content: { 'application/json': { schema: Health } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

const fraction = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 1e6) / 1e6);

function present(h: ModelVersionHealth) {
  return {
    model_version: h.modelVersion,
    requests: h.requests,
    succeeded: h.succeeded,
    refused: h.refused,
    failed: h.failed,
    client_errors: h.clientErrors,
    refusal_rate: fraction(h.refused, h.requests),
    error_rate: fraction(h.failed, h.requests),
    latency_ms: h.latencyMs,
    refusals_by_code: Object.fromEntries(h.refusedByCode),
    errors_by_code: Object.fromEntries(h.failedByCode),
    alert: failingAlert(h),
  };
}

export function registerAdminModelHealth(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { start, end } = dateRange(c, c.req.valid('query'));
    const rows = await c.get('deps').modelHealthStore.range(start, end);
    return c.json(
      { object: 'list' as const, start_date: start, end_date: end, data: rows.map(present) },
      200,
    );
  });
}
