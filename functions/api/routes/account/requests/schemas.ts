import { z } from '@hono/zod-openapi';
import type { TenantRole } from '#shared/accounts/roles';
import { can } from '#shared/accounts/roles';
import type { ApiKeyStore } from '#shared/auth/api-key-store';
import { ApiError } from '#shared/errors';
import { idTime } from '#shared/ids';
import { formatUsd } from '#shared/metering/pricing';
import { channelOf, type UsageEvent } from '#shared/metering/usage-store';
import { DEFAULT_PROJECT_ID } from '#shared/projects/project';

/** How far back the request log's lists and refusal counts reach (docs/request-log.md). */
export const REQUEST_LOG_DAYS = 30;

/** A request id as answered in `x-request-id` and error envelopes (batch lines' too). */
export const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

export const RequestIdParam = z.object({
  request_id: z
    .string()
    .max(64)
    .openapi({
      param: { name: 'request_id', in: 'path' },
      example: 'req_01JF3Q8W7X2V5N9K4M6P8R0T2Y',
      description: 'The `x-request-id` of the answer (also `request_id` in an error envelope).',
    }),
});

export const RequestSchema = z
  .object({
    object: z.literal('request'),
    id: z.string().openapi({ description: 'The request id (`x-request-id`).' }),
    created_at: z.string().openapi({ description: 'When the request came in (ISO 8601, from its id).' }),
    answered_at: z.string().openapi({ description: 'When it was answered (a stream: its last byte).' }),
    status: z.enum(['succeeded', 'open', 'void']).openapi({
      description:
        '`succeeded`: answered and billed. `open`: a stream still being served. `void`: the model failed after the ' +
        'request was admitted: not billed.',
    }),
    model: z.string(),
    version: z.string().openapi({ description: 'The model version that served it.' }),
    channel: z.enum(['online', 'batch']),
    usage: z.object({
      input_tokens: z.number().int(),
      output_tokens: z.number().int(),
      images: z.number().int(),
    }),
    cost_usd: z.string().nullable().openapi({
      description: 'What it cost (exact, USD); null to roles that may not see billing (`billing:read`).',
    }),
    latency_ms: z.number().int(),
    key_id: z.string(),
    key_name: z
      .string()
      .nullable()
      .openapi({ description: "The key's name now; null when it is not on record." }),
    project_id: z
      .string()
      .openapi({ description: "The key's project (`proj_default` for the default project)." }),
  })
  .openapi('Request');

export type RequestView = z.infer<typeof RequestSchema>;

/** A usage record as the request log shows it. */
export function requestView(
  e: UsageEvent,
  keyNames: Map<string, string | null>,
  showCost: boolean,
): RequestView {
  return {
    object: 'request',
    id: e.requestId,
    created_at: new Date(idTime(e.requestId)).toISOString(),
    answered_at: e.at,
    status: e.status,
    model: e.model,
    version: e.version,
    channel: channelOf(e),
    usage: {
      input_tokens: e.units.input_tokens ?? 0,
      output_tokens: e.units.output_tokens ?? 0,
      images: e.units.images ?? 0,
    },
    cost_usd: showCost ? formatUsd(e.costNanoUsd) : null,
    latency_ms: Math.round(e.latencyMs),
    key_id: e.keyId,
    key_name: keyNames.get(e.keyId) ?? null,
    project_id: e.projectId ?? DEFAULT_PROJECT_ID,
  };
}

/** The names of the keys `keyIds` (one GetItem each, distinct keys only). */
export async function keyNamesOf(
  apiKeys: ApiKeyStore,
  tenantId: string,
  keyIds: Iterable<string>,
): Promise<Map<string, string | null>> {
  const ids = [...new Set(keyIds)];
  const keys = await Promise.all(ids.map((id) => apiKeys.get(tenantId, id)));
  return new Map(ids.map((id, i) => [id, keys[i]?.name ?? null]));
}

export function showsCost(role: TenantRole): boolean {
  return can(role, 'billing:read');
}

const Time = z.string().max(40).openapi({ description: 'ISO 8601 time, e.g. `2026-12-07T14:00:00Z`.' });

/** `from`/`to` as times, checked: `to` defaults to now, `from` to 24 hours before `to`, at most 30 days back. */
export function timeRange(
  q: { from?: string; to?: string },
  now: Date,
  defaultSpanMs = 86_400_000,
): { from: number; to: number } {
  const parse = (value: string | undefined, param: 'from' | 'to') => {
    if (value === undefined) return undefined;
    const t = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) {
      throw new ApiError(
        'invalid_request',
        `'${param}' must be an ISO 8601 time such as 2026-12-07T14:00:00Z.`,
        {
          param,
        },
      );
    }
    return t;
  };
  const earliest = now.getTime() - REQUEST_LOG_DAYS * 86_400_000;
  const to = parse(q.to, 'to') ?? now.getTime();
  const from = parse(q.from, 'from') ?? Math.max(earliest, to - defaultSpanMs);
  if (from > to) throw new ApiError('invalid_request', "'from' must not be after 'to'.", { param: 'from' });
  if (from < earliest - 60_000) {
    throw new ApiError(
      'invalid_request',
      `The request log covers the last ${REQUEST_LOG_DAYS} days: 'from' must be after ${new Date(earliest).toISOString()}.`,
      { param: 'from' },
    );
  }
  return { from, to };
}

export const ListQuery = z.object({
  key_id: z.string().max(64).optional().openapi({ description: 'Only calls made with this key.' }),
  project_id: z.string().max(64).optional().openapi({ description: 'Only calls of keys in this project.' }),
  model: z
    .string()
    .max(130)
    .optional()
    .openapi({ description: 'Only this model (`chat`) or the version that served (`chat@smollm2-135m`).' }),
  status: z.enum(['succeeded', 'open', 'void']).optional(),
  from: Time.optional().openapi({
    description: 'Calls that came in at or after this time. Default: 24 hours ago.',
  }),
  to: Time.optional().openapi({ description: 'Calls that came in at or before this time. Default: now.' }),
  limit: z.coerce.number().int('must be a whole number').min(1).max(100).optional().openapi({
    description: 'Calls per page (default 50).',
  }),
  after: z.string().max(64).optional().openapi({
    description: 'The previous page’s `last_id`: the next page starts with the call before it.',
  }),
});

export const RequestList = z
  .object({
    object: z.literal('list'),
    data: z.array(RequestSchema),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .openapi('RequestList');

export const RefusalsQuery = z.object({
  key_id: z.string().max(64).optional().openapi({ description: 'Only refusals of this key.' }),
  project_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Only refusals of keys in this project.' }),
  reason: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Only this reason: the error code answered (`rate_limit_requests`, ...).' }),
  from: Time.optional().openapi({ description: 'From this minute on. Default: 24 hours ago.' }),
  to: Time.optional().openapi({ description: 'Up to this minute. Default: now.' }),
  limit: z.coerce.number().int('must be a whole number').min(1).max(500).optional().openapi({
    description: 'Rows per page (default 100).',
  }),
  cursor: z.string().max(2048).optional().openapi({ description: 'From the previous page’s `next_cursor`.' }),
});

export const RefusalRow = z
  .object({
    minute: z.string().openapi({ description: 'The UTC minute, `YYYY-MM-DDTHH:MM`.' }),
    key_id: z.string(),
    key_name: z.string().nullable(),
    project_id: z.string(),
    reason: z.string().openapi({ description: 'The error code the calls were answered with.' }),
    status: z.number().int().openapi({ description: 'The HTTP status answered with it.' }),
    count: z.number().int(),
  })
  .openapi('RefusalCount');

export const RefusalList = z
  .object({
    object: z.literal('list'),
    data: z.array(RefusalRow),
    next_cursor: z.string().nullable(),
    note: z.string().openapi({ description: 'Where the detail of each refused call is: the logs.' }),
  })
  .openapi('RefusalCountList');
