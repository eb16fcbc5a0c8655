import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { readBacklog } from '#api/batches/backlog';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BatchEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { batchEndpoints } from '#shared/batch/types';
import { guardAdmin } from '../guard';

const Backlog = z
  .object({
    object: z.literal('batch_backlog'),
    at: z.number().int().openapi({ description: 'Unix seconds: when these figures were read.' }),
    batches: z
      .array(
        z.object({
          id: z.string(),
          tenant_id: z.string(),
          endpoint: z.enum(batchEndpoints),
          status: z.string(),
          models: z.array(z.string()).openapi({ description: 'The models its lines name, as written.' }),
          versions: z.array(z.string()).openapi({
            description: "Where its lines go (`model@version`), by the tenant's pins and traffic.",
          }),
          lines_total: z.number().int(),
          lines_done: z.number().int().openapi({ description: 'Answered or failed so far.' }),
          created_at: z.number().int(),
          expires_at: z.number().int(),
        }),
      )
      .openapi({ description: 'Every batch not yet final, oldest first.' }),
    versions: z
      .array(
        z.object({
          version: z.string().openapi({ example: 'sentiment@v1' }),
          lines_waiting: z.number().int(),
          answered_last_15m: z.number().int(),
          answered_last_1h: z.number().int(),
        }),
      )
      .openapi({ description: 'Per model version: lines waiting, and lines answered lately (throughput).' }),
    queue: z.object({ waiting: z.number().int(), dead: z.number().int() }).nullable().openapi({
      description:
        'The local work queue (DynamoDB-kept): chunks waiting and set aside. Null with SQS: its depth is on the dashboard.',
    }),
  })
  .openapi('AdminBatchBacklog');

const route = createRoute({
  method: 'get',
  path: '/admin/batches',
  tags: ['Admin'],
  summary: 'The batch backlog: active batches, lines waiting and throughput per model version',
  description:
    'Operators only. Throughput is counted from the line results (each says when and by which version it was answered), over the active batches and those that ended within the hour.',
  security: sessionSecurity,
  responses: {
    200: { description: 'The backlog', content: { 'application/json': { schema: Backlog } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerAdminBatches(app: OpenAPIHono<BatchEnv>): void {
  guardAdmin(app);
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const now = deps.now();
    const b = await readBacklog(deps, now);
    return c.json(
      {
        object: 'batch_backlog' as const,
        at: Math.floor(now.getTime() / 1000),
        batches: b.batches.map(({ batch, done, versions }) => ({
          id: batch.id,
          tenant_id: batch.tenantId,
          endpoint: batch.endpoint,
          status: batch.status,
          models: batch.models,
          versions,
          lines_total: batch.lines,
          lines_done: done,
          created_at: batch.createdAt,
          expires_at: batch.expiresAt,
        })),
        versions: b.versions.map((v) => ({
          version: v.version,
          lines_waiting: v.waiting,
          answered_last_15m: v.answered_15m,
          answered_last_1h: v.answered_1h,
        })),
        queue: b.queue,
      },
      200,
    );
  });
}
