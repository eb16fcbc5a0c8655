import { z } from '@hono/zod-openapi';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import { billingUnits, effectiveLimits } from '#shared/quotas/plans';
import { windowsAt } from '#shared/quotas/windows';
import type { Tenant } from '#shared/tenants/tenant-store';
import type { ConsolePlaneDeps } from '../http/env';
import { FreshnessSchema } from '../http/usage-freshness';
import {
  AlertSchema,
  alertView,
  OverridesSchema,
  overridesView,
  PlanSchema,
  planView,
} from './limits-schemas';

const UnitCounts = z.object({
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  images: z.number().int(),
});

export const LimitsSchema = z
  .object({
    object: z.literal('limits'),
    tenant_id: z.string(),
    plan: PlanSchema,
    overrides: OverridesSchema.openapi({ description: "An operator's changes to the plan for this tenant." }),
    owner_spend_cap_usd: z
      .string()
      .nullable()
      .openapi({ description: "The owner's own monthly cap; it can only lower the plan's." }),
    effective: z
      .object({
        overage: z.enum(['hard_stop', 'bill']),
        included: z.object({
          input_tokens: z.number().int().nullable(),
          output_tokens: z.number().int().nullable(),
          images: z.number().int().nullable(),
        }),
        requests_per_minute: z.number().int().nullable(),
        tokens_per_minute: z.number().int().nullable(),
        max_concurrent: z.number().int().nullable(),
        spend_cap_usd: z.string().nullable(),
      })
      .openapi({
        description:
          'What requests are held to (null: unlimited). Per-key limits narrow these further for one key.',
      }),
    month: z.object({
      month: z.string().openapi({ example: '2026-11' }),
      resets_at: z.string(),
      used: UnitCounts.extend({ cost_usd: z.string() }).openapi({
        description:
          "This month's use as billed: the month total the usage consumer keeps from the usage records, " +
          'complete up to `freshness.as_of` (requests served since may not be in it yet).',
      }),
    }),
    alerts: z.array(AlertSchema).openapi({ description: "This month's alerts, newest first." }),
    freshness: FreshnessSchema,
  })
  .openapi('Limits');

/**
 * A tenant's limits: its plan, the operator's overrides, the owner's cap, the effective result and
 * this month's use, with how fresh that use is. Reads: the plan (cached), the month total (one
 * GetItem), the alerts (one Query), the consumer's checkpoints (one Query, cached ~1 s per instance).
 */
export async function limitsView(
  deps: ConsolePlaneDeps,
  tenant: Tenant,
): Promise<z.infer<typeof LimitsSchema>> {
  const now = deps.now();
  const w = windowsAt(now);
  const [plan, use, alerts, freshness] = await Promise.all([
    deps.plans.get(tenant.plan),
    deps.quotas.month(tenant.id, now),
    deps.alertStore.list(tenant.id, { month: w.month }),
    deps.usageFreshness.read(),
  ]);
  if (!plan) throw new ApiError('internal_error', `The account's plan '${tenant.plan}' is not defined.`);
  const e = effectiveLimits(plan, {
    tenantOverrides: tenant.limitOverrides,
    ownerSpendCapNanoUsd: tenant.spendCapNanoUsd,
  });
  const included = { input_tokens: null, output_tokens: null, images: null } as Record<
    (typeof billingUnits)[number],
    number | null
  >;
  for (const u of billingUnits) {
    included[u] = plan.overage === 'hard_stop' ? (e.tenant.monthlyUnits[u] ?? 0) : (e.included[u] ?? null);
  }
  const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
  return {
    object: 'limits',
    tenant_id: tenant.id,
    plan: planView(plan),
    overrides: overridesView(tenant.limitOverrides),
    owner_spend_cap_usd: tenant.spendCapNanoUsd === undefined ? null : formatUsd(tenant.spendCapNanoUsd),
    effective: {
      overage: plan.overage,
      included: {
        input_tokens: included.input_tokens,
        output_tokens: included.output_tokens,
        images: included.images,
      },
      requests_per_minute: e.tenant.requestsPerMinute ?? null,
      tokens_per_minute: e.tenant.tokensPerMinute ?? null,
      max_concurrent: e.tenant.maxConcurrent ?? null,
      spend_cap_usd: e.tenant.spendCapNanoUsd === undefined ? null : formatUsd(e.tenant.spendCapNanoUsd),
    },
    month: {
      month: w.month,
      resets_at: resetsAt,
      used: {
        input_tokens: use.units.input_tokens ?? 0,
        output_tokens: use.units.output_tokens ?? 0,
        images: use.units.images ?? 0,
        cost_usd: formatUsd(use.costNanoUsd),
      },
    },
    alerts: alerts.map(alertView),
    freshness,
  };
}
