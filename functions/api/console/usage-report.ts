import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import type { DailyUsage } from '#shared/metering/usage-store';
import { DEFAULT_PROJECT_ID, projectIdOf } from '#shared/projects/project';
import type { ProjectStore } from '#shared/projects/project-store';
import type { AppEnv, CoreDeps, CoreEnv, DataPlaneDeps } from '../http/env';
import { ChannelParam, ChannelSchema } from './channel-schema';

/** What a usage report reads: the console's and `GET /v1/usage` (the data plane) both answer one. */
type ReportDeps = CoreDeps & Pick<DataPlaneDeps, 'usage' | 'usageFreshness' | 'apiKeys'>;

import { FreshnessSchema, usageAsOfHeaders, usageFreshness } from '../http/usage-freshness';

/** The usage report `GET /v1/usage` (API key) and `GET /account/usage` (console) both answer. */

export const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    'is not a calendar date',
  );

export const UsageQuery = z.object({
  start_date: Day.optional().openapi({
    description: 'First day (UTC), inclusive. Default: the 1st of this month.',
  }),
  end_date: Day.optional().openapi({ description: 'Last day (UTC), inclusive. Default: today.' }),
  model: z
    .string()
    .max(128)
    .optional()
    .openapi({ description: 'Only this model (`chat`) or model version (`chat@smollm2-135m`).' }),
  key_id: z.string().max(64).optional().openapi({ description: 'Only this API key.' }),
  project_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'Only the keys of this project (`proj_default`: the default project).' }),
  channel: ChannelParam,
  format: z
    .enum(['json', 'csv'])
    .optional()
    .openapi({ description: '`csv` for a CSV file (as does `Accept: text/csv`). Default JSON.' }),
});

const Totals = z.object({
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  images: z.number().int(),
  cost_usd: z.string(),
});

export const UsageResponse = z
  .object({
    object: z.literal('list'),
    start_date: z.string(),
    end_date: z.string(),
    data: z.array(
      Totals.extend({
        date: z.string(),
        model: z.string(),
        version: z.string(),
        key_id: z.string(),
        key_name: z.string().nullable().openapi({
          description:
            "The key's name now (a rotated key and its successor share it; `key_id` tells them apart); null when the key is not on record.",
        }),
        channel: ChannelSchema,
        project_id: z.string().openapi({
          description: "The key's project (keys never move, so this holds for every day in the past).",
        }),
      }),
    ),
    totals: Totals,
    totals_by_channel: z.object({ online: Totals, batch: Totals }).openapi({
      description: 'The totals of online calls and of batch lines apart; they add up to `totals`.',
    }),
    totals_by_project: z
      .array(
        Totals.extend({
          project_id: z.string(),
          project_name: z
            .string()
            .nullable()
            .openapi({ description: 'Null where project names are not read (`/v1/usage`).' }),
        }),
      )
      .openapi({
        description:
          'The totals per project of the rows shown, in the order of the project list; they add up to `totals`.',
      }),
    freshness: FreshnessSchema,
  })
  .openapi('UsageResponse');

const KEY = 'key_01M97D1FGKSHVR7Y2D2M4CYTB3';
/** A day of one key's chat and sentiment use, as a report answers it. */
const usageExample = {
  object: 'list',
  start_date: '2026-11-01',
  end_date: '2026-11-07',
  data: [
    {
      date: '2026-11-02',
      model: 'chat',
      version: 'smollm2-135m',
      key_id: KEY,
      key_name: 'production',
      channel: 'online',
      project_id: 'proj_default',
      requests: 120,
      input_tokens: 38_400,
      output_tokens: 9_600,
      images: 0,
      cost_usd: '0.006720000',
    },
    {
      date: '2026-11-02',
      model: 'sentiment',
      version: 'v1',
      key_id: KEY,
      key_name: 'production',
      channel: 'online',
      project_id: 'proj_default',
      requests: 40,
      input_tokens: 560,
      output_tokens: 0,
      images: 0,
      cost_usd: '0.000056000',
    },
    {
      date: '2026-11-02',
      model: 'sentiment',
      version: 'v1',
      key_id: KEY,
      key_name: 'production',
      channel: 'batch',
      project_id: 'proj_default',
      requests: 1_000,
      input_tokens: 14_000,
      output_tokens: 0,
      images: 0,
      cost_usd: '0.000700000',
    },
  ],
  totals: { requests: 1_160, input_tokens: 52_960, output_tokens: 9_600, images: 0, cost_usd: '0.007476000' },
  totals_by_channel: {
    online: { requests: 160, input_tokens: 38_960, output_tokens: 9_600, images: 0, cost_usd: '0.006776000' },
    batch: { requests: 1_000, input_tokens: 14_000, output_tokens: 0, images: 0, cost_usd: '0.000700000' },
  },
  totals_by_project: [
    {
      project_id: 'proj_default',
      project_name: 'Default',
      requests: 1_160,
      input_tokens: 52_960,
      output_tokens: 9_600,
      images: 0,
      cost_usd: '0.007476000',
    },
  ],
  freshness: { as_of: '2026-11-07T12:03:41.250Z', lag_ms: 850 },
} as const satisfies z.infer<typeof UsageResponse>;

/** The 200 content of a usage route: JSON, or the same rows as CSV. */
export const usageContent = {
  'application/json': { schema: UsageResponse, example: usageExample },
  'text/csv': {
    schema: z.string().openapi({
      example:
        'date,model,version,key_id,key_name,requests,input_tokens,output_tokens,images,cost_usd,channel,project_id\r\n2026-11-02,sentiment,v1,key_01J...,laptop,3,27,0,0,0.000002700,online,proj_default\r\n2026-11-02,sentiment,v1,key_01J...,laptop,1000,14000,0,0,0.000700000,batch,proj_default\r\n',
    }),
  },
};

/** The 200 of a usage route: JSON, or the same rows as CSV; either says how fresh it is. */
export const usageOk = {
  description: 'Daily aggregates, and up to when they are complete (`freshness`; the `x-usage-as-of` header)',
  headers: usageAsOfHeaders,
  content: usageContent,
};

export const MAX_DAYS = 366;

/** A date range from the query (default: this month so far), checked. */
export function dateRange<E extends CoreEnv>(c: Context<E>, q: { start_date?: string; end_date?: string }) {
  const today = c.get('deps').now().toISOString().slice(0, 10);
  const start = q.start_date ?? `${today.slice(0, 8)}01`;
  const end = q.end_date ?? today;
  if (start > end)
    throw new ApiError('invalid_request', "'start_date' must not be after 'end_date'.", {
      param: 'start_date',
    });
  if ((Date.parse(end) - Date.parse(start)) / 86_400_000 >= MAX_DAYS) {
    throw new ApiError('invalid_request', `A range may span at most ${MAX_DAYS} days.`, {
      param: 'start_date',
    });
  }
  return { start, end };
}

const CSV_COLUMNS = [
  'date',
  'model',
  'version',
  'key_id',
  'key_name',
  'requests',
  'input_tokens',
  'output_tokens',
  'images',
  'cost_usd',
  // Last, so that a reader of the columns from before batches existed finds them where they were.
  'channel',
  // Last again, for the same reason.
  'project_id',
] as const;

/** One RFC 4180 field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Free text a tenant wrote (a key's name) for a CSV cell: one a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@`, a tab or CR first) gets a leading `'`, so that it opens as the text it is.
 */
export function csvText(value: string | null): string | null {
  return value !== null && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** RFC 4180: a header row, CRLF after every record. */
export function toCsv(header: readonly string[], rows: (string | number | null)[][]): string {
  return [header, ...rows].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}

/**
 * The name and project of each key the rows name: one read per distinct key (a report names few).
 * A key's project is fixed when it is made, so the daily aggregates (per key) map to projects here,
 * at read time, exactly for every day; a key not on record is in the default project.
 */
async function keyInfo<D extends ReportDeps>(
  c: Context<AppEnv<D>>,
  tenantId: string,
  rows: DailyUsage[],
): Promise<Map<string, { name: string; projectId: string }>> {
  const { apiKeys } = c.get('deps');
  const ids = [...new Set(rows.map((r) => r.keyId))];
  const found = await Promise.all(ids.map((id) => apiKeys.get(tenantId, id)));
  return new Map(
    found.flatMap((k) => (k ? [[k.id, { name: k.name, projectId: projectIdOf(k) }] as const] : [])),
  );
}

function wantsCsv(c: Context, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  const accept = c.req.header('accept') ?? '';
  return accept.includes('text/csv') && !accept.includes('application/json');
}

/**
 * A tenant's usage per day x model version x key, filtered, with totals and exact cost: one
 * Query on the tenant's daily aggregates, and beside it the aggregates' freshness (the consumer's
 * checkpoints, cached per instance). JSON, or CSV (a file named after the range); both carry
 * `x-usage-as-of` when it is known.
 */
export async function usageReport<D extends ReportDeps>(
  c: Context<AppEnv<D>>,
  tenantId: string,
  query: z.infer<typeof UsageQuery>,
  /** Where the consoles read project names (and check `project_id`: unknown is a 404); `/v1/usage` has none. */
  opts: { projects?: ProjectStore; tenantCreatedAt?: string } = {},
): Promise<Response> {
  const { start, end } = dateRange(c, query);
  const [model, version] = query.model ? query.model.split('@', 2) : [];
  const [daily, freshness, projects] = await Promise.all([
    c.get('deps').usage.listDaily(tenantId, start, end),
    usageFreshness(c),
    opts.projects?.list(tenantId, { defaultCreatedAt: opts.tenantCreatedAt }),
  ]);
  if (query.project_id !== undefined && projects && !projects.some((p) => p.id === query.project_id)) {
    throw new ApiError('not_found', `No project '${query.project_id}' in this account.`, {
      param: 'project_id',
    });
  }
  let rows: DailyUsage[] = daily;
  rows = rows.filter(
    (r) =>
      (!model || r.model === model) &&
      (!version || r.version === version) &&
      (!query.key_id || r.keyId === query.key_id) &&
      (!query.channel || r.channel === query.channel),
  );
  const keys = await keyInfo(c, tenantId, rows);
  const projectOf = (r: DailyUsage) => keys.get(r.keyId)?.projectId ?? DEFAULT_PROJECT_ID;
  if (query.project_id !== undefined) rows = rows.filter((r) => projectOf(r) === query.project_id);
  const data = rows.map((r) => ({
    date: r.day,
    model: r.model,
    version: r.version,
    key_id: r.keyId,
    key_name: keys.get(r.keyId)?.name ?? null,
    channel: r.channel,
    project_id: projectOf(r),
    requests: r.requests,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    images: r.images,
    cost_usd: formatUsd(r.costNanoUsd),
  }));
  if (wantsCsv(c, query.format)) {
    const csv = toCsv(
      CSV_COLUMNS,
      data.map((r) => CSV_COLUMNS.map((col) => (col === 'key_name' ? csvText(r.key_name) : r[col]))),
    );
    return c.body(csv, 200, {
      'content-type': 'text/csv; charset=utf-8; header=present',
      'content-disposition': `attachment; filename="usage-${start}-${end}.csv"`,
    });
  }
  return c.json({
    object: 'list' as const,
    start_date: start,
    end_date: end,
    data,
    totals: totalsOf(rows),
    totals_by_channel: {
      online: totalsOf(rows.filter((r) => r.channel === 'online')),
      batch: totalsOf(rows.filter((r) => r.channel === 'batch')),
    },
    totals_by_project: byProject(rows, projectOf, projects),
    freshness,
  });
}

/** The rows' totals per project: the projects in their list's order (those with rows), then any other. */
function byProject(
  rows: DailyUsage[],
  projectOf: (r: DailyUsage) => string,
  projects: { id: string; name: string }[] | undefined,
) {
  const groups = new Map<string, DailyUsage[]>();
  for (const r of rows) {
    const id = projectOf(r);
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const order = (projects ?? []).map((p) => p.id).filter((id) => groups.has(id));
  for (const id of groups.keys()) if (!order.includes(id)) order.push(id);
  const names = new Map((projects ?? []).map((p) => [p.id, p.name]));
  return order.map((id) => ({
    project_id: id,
    project_name: names.get(id) ?? null,
    ...totalsOf(groups.get(id) ?? []),
  }));
}

/** The rows' sums, cost exact (summed in nano-USD, formatted once). */
function totalsOf(rows: DailyUsage[]): z.infer<typeof Totals> {
  const totals = { requests: 0, input_tokens: 0, output_tokens: 0, images: 0 };
  let cost = 0;
  for (const r of rows) {
    totals.requests += r.requests;
    totals.input_tokens += r.inputTokens;
    totals.output_tokens += r.outputTokens;
    totals.images += r.images;
    cost += r.costNanoUsd;
  }
  return { ...totals, cost_usd: formatUsd(cost) };
}

export { ChannelParam, ChannelSchema };
