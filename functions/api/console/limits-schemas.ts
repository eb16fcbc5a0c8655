import { z } from '@hono/zod-openapi';
import { formatUsd, usdToNano } from '#shared/metering/pricing';
import type { UsageAlert } from '#shared/quotas/alerts';
import type { LimitsPatch } from '#shared/quotas/limits-admin';
import { isSelfServe, type LimitOverrides, type Plan } from '#shared/quotas/plans';

/** Schemas and views of plans, limits and alerts, shared by the /account and /admin routes. */

/** An amount of USD in, as a number or a decimal string; nano-USD inside; a decimal string out. */
export const UsdInput = z
  .union([z.number(), z.string()])
  .refine((v) => usdToNano(v) !== null && usdToNano(v)! > 0, {
    message: 'must be an amount of USD above 0 with at most 9 decimal places, e.g. 25 or "25.50"',
  })
  .openapi({ example: '25.00', description: 'USD, as a number or a decimal string (up to 9 places).' });

/** An amount of USD of 0 or more (0 meaning none), as a number or a decimal string. */
export const UsdOrZeroInput = z
  .union([z.number(), z.string()])
  .refine((v) => usdToNano(v) !== null, {
    message: 'must be an amount of USD of 0 or more with at most 9 decimal places, e.g. 5 or "0.50"',
  })
  .openapi({ example: '5.00', description: 'USD, as a number or a decimal string (up to 9 places).' });

/** A plan's trial, as operators send it (0 or null: no trial). */
export const trialFields = {
  trial_usd: UsdOrZeroInput.nullable().optional().openapi({
    description:
      'Trial credit a newly verified tenant on this plan gets (one `trial` grant); 0 or null: no trial. Needs `trial_days`.',
  }),
  trial_days: z
    .number()
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(3650, 'must be at most 3650')
    .nullable()
    .optional()
    .openapi({ description: 'How many days the trial credit lasts; 0 or null: no trial.' }),
};

/** The wire's trial fields as the domain's patch. */
export function toTrialPatch(b: { trial_usd?: number | string | null; trial_days?: number | null }) {
  const out: { trialNanoUsd?: number | null; trialDays?: number | null } = {};
  if (b.trial_usd !== undefined) out.trialNanoUsd = b.trial_usd === null ? null : usdToNano(b.trial_usd)!;
  if (b.trial_days !== undefined) out.trialDays = b.trial_days;
  return out;
}

/** Checked by `UsdInput` already. */
export const toNano = (v: number | string): number => usdToNano(v)!;

const Count = (max: number) => z.number().int('must be a whole number').min(1, 'must be at least 1').max(max);
const Units = z.number().int('must be a whole number').min(0, 'must not be negative').max(1e15);

const IncludedInput = z
  .object({
    input_tokens: Units.nullable().optional(),
    output_tokens: Units.nullable().optional(),
    images: Units.nullable().optional(),
  })
  .strict()
  .openapi({ description: 'Units included each month, per unit; null removes a unit.' });

/** Limit fields as operators send them: a value, or null to remove it (unlimited, or the plan's). */
export const limitFields = {
  requests_per_minute: Count(1e9).nullable().optional(),
  tokens_per_minute: Count(1e12).nullable().optional(),
  max_concurrent: Count(1e6).nullable().optional(),
  spend_cap_usd: UsdInput.nullable().optional(),
  included: IncludedInput.optional(),
};

export const LimitsPatchInput = z.object(limitFields).strict().openapi('LimitsPatch');
type LimitsPatchBody = z.infer<typeof LimitsPatchInput>;

/** The wire's limit fields as the domain's patch. */
export function toLimitsPatch(b: LimitsPatchBody): LimitsPatch {
  const patch: LimitsPatch = {};
  if (b.requests_per_minute !== undefined) patch.requestsPerMinute = b.requests_per_minute;
  if (b.tokens_per_minute !== undefined) patch.tokensPerMinute = b.tokens_per_minute;
  if (b.max_concurrent !== undefined) patch.maxConcurrent = b.max_concurrent;
  if (b.spend_cap_usd !== undefined)
    patch.spendCapNanoUsd = b.spend_cap_usd === null ? null : toNano(b.spend_cap_usd);
  if (b.included) patch.included = { ...b.included };
  return patch;
}

/** Domain field names as the wire names them (for `param` in errors). */
export const wireField: Record<string, string> = {
  requestsPerMinute: 'requests_per_minute',
  tokensPerMinute: 'tokens_per_minute',
  maxConcurrent: 'max_concurrent',
  spendCapNanoUsd: 'spend_cap_usd',
  included: 'included',
  overage: 'overage',
  trialNanoUsd: 'trial_usd',
  trialDays: 'trial_days',
  name: 'name',
  id: 'id',
};

const Included = z.object({
  input_tokens: z.number().int().optional(),
  output_tokens: z.number().int().optional(),
  images: z.number().int().optional(),
});

const LimitValues = {
  requests_per_minute: z.number().int().nullable(),
  tokens_per_minute: z.number().int().nullable(),
  max_concurrent: z.number().int().nullable(),
  spend_cap_usd: z.string().nullable().openapi({ example: '100.000000000' }),
};

export const PlanSchema = z
  .object({
    id: z.string().openapi({ example: 'payg' }),
    object: z.literal('plan'),
    name: z.string(),
    overage: z.enum(['hard_stop', 'bill']).openapi({
      description:
        '`hard_stop`: refused past the included units. `bill`: billed past them, up to the spend cap.',
    }),
    included: Included.openapi({ description: 'Units included each month.' }),
    ...LimitValues,
    trial_usd: z.string().nullable().openapi({
      example: '5.000000000',
      description: 'The trial credit a newly verified tenant gets; null: no trial.',
    }),
    trial_days: z.number().int().nullable().openapi({ description: 'How long the trial credit lasts.' }),
    self_serve: z.boolean().openapi({
      description: 'Whether tenant owners may move to and from this plan themselves.',
    }),
  })
  .openapi('Plan');

export const OverridesSchema = z
  .object({
    requests_per_minute: z.number().int().optional(),
    tokens_per_minute: z.number().int().optional(),
    max_concurrent: z.number().int().optional(),
    spend_cap_usd: z.string().optional(),
    included: Included.optional(),
  })
  .openapi('LimitOverrides');

const usd = (n: number | undefined) => (n === undefined ? null : formatUsd(n));

export function planView(p: Plan) {
  return {
    id: p.id,
    object: 'plan' as const,
    name: p.name,
    overage: p.overage,
    included: { ...p.included },
    requests_per_minute: p.requestsPerMinute ?? null,
    tokens_per_minute: p.tokensPerMinute ?? null,
    max_concurrent: p.maxConcurrent ?? null,
    spend_cap_usd: usd(p.spendCapNanoUsd),
    trial_usd: p.trialNanoUsd && p.trialDays ? formatUsd(p.trialNanoUsd) : null,
    trial_days: p.trialNanoUsd && p.trialDays ? p.trialDays : null,
    self_serve: isSelfServe(p),
  };
}

export function overridesView(o: LimitOverrides | undefined) {
  const v: z.infer<typeof OverridesSchema> = {};
  if (!o) return v;
  if (o.requestsPerMinute !== undefined) v.requests_per_minute = o.requestsPerMinute;
  if (o.tokensPerMinute !== undefined) v.tokens_per_minute = o.tokensPerMinute;
  if (o.maxConcurrent !== undefined) v.max_concurrent = o.maxConcurrent;
  if (o.spendCapNanoUsd !== undefined) v.spend_cap_usd = formatUsd(o.spendCapNanoUsd);
  if (o.included && Object.keys(o.included).length) v.included = { ...o.included };
  return v;
}

export const AlertSchema = z
  .object({
    object: z.literal('usage_alert'),
    month: z.string(),
    metric: z.string().openapi({
      description:
        '`spend` (of the spend cap), `included_<unit>` (of the units the plan includes), `key_spend` (of an API key’s monthly budget) or `project_spend` (of a project’s monthly budget).',
    }),
    threshold: z.number().int().openapi({ description: '50, 80 or 100 (percent).' }),
    unit: z.string().openapi({ description: '`usd` for spend, else the billing unit.' }),
    used: z.string().openapi({ description: 'Use when the alert was raised (USD as a decimal string).' }),
    limit: z.string(),
    at: z.string(),
    notified: z.string().nullable().openapi({
      description:
        'Where the email went: the tenant contact, or for a key budget its recipients (comma-separated).',
    }),
    key: z
      .object({
        id: z.string(),
        name: z.string().openapi({ description: 'The key’s name when the alert was raised.' }),
        budget_mode: z.enum(['hard_stop', 'alert_only']),
      })
      .nullable()
      .openapi({ description: 'For a key budget’s alert (`metric` `key_spend`): the key; else null.' }),
    project: z
      .object({
        id: z.string(),
        name: z.string().openapi({ description: 'The project’s name when the alert was raised.' }),
        budget_mode: z.enum(['hard_stop', 'alert_only']),
      })
      .nullable()
      .openapi({
        description: 'For a project budget’s alert (`metric` `project_spend`): the project; else null.',
      }),
    recipients: z.array(z.string()).openapi({ description: 'Every address the alert was emailed to.' }),
  })
  .openapi('UsageAlert');

export function alertView(a: UsageAlert) {
  const spend = a.metric === 'spend' || a.metric === 'key_spend' || a.metric === 'project_spend';
  return {
    object: 'usage_alert' as const,
    month: a.month,
    metric: a.metric,
    threshold: a.threshold,
    unit: spend ? 'usd' : a.metric.slice('included_'.length),
    used: spend ? formatUsd(a.used) : String(a.used),
    limit: spend ? formatUsd(a.limit) : String(a.limit),
    at: a.at,
    notified: a.notified,
    key: a.keyId
      ? { id: a.keyId, name: a.keyName ?? a.keyId, budget_mode: a.budgetMode ?? ('hard_stop' as const) }
      : null,
    project: a.projectId
      ? {
          id: a.projectId,
          name: a.projectName ?? a.projectId,
          budget_mode: a.budgetMode ?? ('hard_stop' as const),
        }
      : null,
    recipients: a.recipients ?? (a.notified ? [a.notified] : []),
  };
}
