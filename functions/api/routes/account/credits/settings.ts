import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { toNano, UsdInput } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { type CreditStore, MAX_LOW_BALANCE_ALERTS, trialGrantId } from '#shared/credits/credit-store';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import type { Tenant } from '#shared/tenants/tenant-store';

const Usd = z.string().openapi({ example: '5.000000000' });

export const CreditSettingsSchema = z
  .object({
    object: z.literal('credit_settings'),
    billing_mode: z.enum(['prepaid', 'postpaid']),
    free_only: z.boolean().openapi({
      description:
        'On: admitted against the credit balance only, never invoiced; at zero refused (429 insufficient_balance, ' +
        '`x-should-retry: false`). On for new trial accounts.',
    }),
    balance_usd: Usd,
    trial: z
      .object({
        amount_usd: Usd,
        left_usd: Usd,
        expires_at: z.string(),
        status: z.enum(['active', 'expiring', 'expired']),
      })
      .nullable()
      .openapi({ description: 'The trial credit granted when the email was verified; null: none.' }),
    exhausted_at: z
      .string()
      .nullable()
      .openapi({
        description:
          'Free-only: when the credit was found used up (calls are refused; the owner was emailed once). ' +
          'Cleared by new credit.',
      }),
    low_balance_alerts_usd: z.array(Usd).openapi({ description: 'Thresholds, highest first.' }),
    low_balance_notices: z
      .array(
        z.object({
          threshold_usd: Usd,
          balance_usd: Usd.openapi({ description: 'The balance when the crossing was found.' }),
          at: z.string(),
          notified: z.string().nullable().openapi({ description: 'Where the email went.' }),
        }),
      )
      .openapi({ description: 'Crossings below a threshold, newest first (the last 20).' }),
  })
  .openapi('CreditSettings');

const SettingsPatch = z
  .object({
    free_only: z
      .boolean()
      .optional()
      .openapi({
        description:
          'false: paid use. The account stays prepaid if it holds paid credit, else becomes postpaid (billed as its ' +
          'plan says). true: admitted against the balance only, never invoiced.',
      }),
    low_balance_alerts_usd: z
      .array(UsdInput.refine((v) => toNano(v) <= 1_000_000 * 1e9, { message: 'must be at most 1000000 USD' }))
      .max(MAX_LOW_BALANCE_ALERTS, `must hold at most ${MAX_LOW_BALANCE_ALERTS} thresholds`)
      .refine((a) => new Set(a.map(toNano)).size === a.length, { message: 'must not repeat a threshold' })
      .optional()
      .openapi({
        description: `Up to ${MAX_LOW_BALANCE_ALERTS} USD amounts; [] removes them. Each crossing below one emails the owner once.`,
      }),
  })
  .strict()
  .openapi('CreditSettingsPatch');

const answer = { content: { 'application/json': { schema: CreditSettingsSchema } } };

const getRoute = createRoute({
  method: 'get',
  path: '/account/credits/settings',
  tags: ['Limits'],
  summary: 'Your trial, the free-only switch and low-balance alerts',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  responses: {
    200: { description: 'The settings', ...answer },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

const patchRoute = createRoute({
  method: 'patch',
  path: '/account/credits/settings',
  tags: ['Limits'],
  summary: 'Turn free-only on or off; set the low-balance alerts',
  description:
    'Owners and billing members. Absent fields stay. Audited (`tenant.free_only`, `tenant.low_balance_alerts`). ' +
    'Free-only bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: SettingsPatch } } } },
  responses: {
    200: { description: 'The settings after the change', ...answer },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'conflict']),
  },
});

/** The settings view: the trial grant, the switch, the exhaustion, the thresholds and their notices. */
export async function creditSettingsView(
  credits: CreditStore,
  tenant: Tenant,
  now: Date,
): Promise<z.infer<typeof CreditSettingsSchema>> {
  const [s, notices] = await Promise.all([
    credits.statement(tenant.id, now),
    credits.lowBalanceNotices(tenant.id),
  ]);
  const trial = s.grants.find((g) => g.id === trialGrantId(tenant.id));
  return {
    object: 'credit_settings',
    billing_mode: tenant.billingMode === 'prepaid' ? 'prepaid' : 'postpaid',
    free_only: tenant.freeOnly === true,
    balance_usd: formatUsd(s.balanceNanoUsd),
    trial: trial
      ? {
          amount_usd: formatUsd(trial.amountNanoUsd),
          left_usd: formatUsd(Math.max(0, s.left.get(trial.id) ?? 0)),
          expires_at: trial.expiresAt,
          status: trial.status,
        }
      : null,
    exhausted_at: tenant.freeOnly ? (s.balance?.exhaustedAt ?? null) : null,
    low_balance_alerts_usd: (s.balance?.lowBalanceNanoUsd ?? []).map(formatUsd),
    low_balance_notices: notices.map((n) => ({
      threshold_usd: formatUsd(n.thresholdNanoUsd),
      balance_usd: formatUsd(Math.max(0, n.balanceNanoUsd)),
      at: n.at,
      notified: n.notified,
    })),
  };
}

export function registerCreditSettings(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(getRoute, async (c) => {
    const { quotas, now, accounts } = c.get('deps');
    const session = userSession(c);
    const tenant = (await accounts.tenants.get(session.tenantId)) ?? session.tenant;
    return c.json(await creditSettingsView(quotas.credits, tenant, now()), 200);
  });

  app.openapi(patchRoute, async (c) => {
    const body = c.req.valid('json');
    const { quotas, now, accounts, authenticator } = c.get('deps');
    const session = userSession(c);
    const actor = { kind: 'user' as const, id: session.userId, email: session.member.email };
    const requestId = c.get('requestId');
    if (body.low_balance_alerts_usd !== undefined) {
      await quotas.credits.setLowBalanceAlerts(
        {
          tenantId: session.tenantId,
          thresholdsNanoUsd: body.low_balance_alerts_usd.map(toNano),
          actor,
          requestId,
        },
        now(),
      );
    }
    if (body.free_only !== undefined) {
      const out = await quotas.credits.setFreeOnly(
        { tenantId: session.tenantId, on: body.free_only, actor, requestId },
        now(),
      );
      if (out.status === 'conflict' || out.status === 'not_found') {
        throw new ApiError('conflict', 'The account changed meanwhile; read it again and retry.', {
          param: 'free_only',
        });
      }
      // Here at once; other instances within AUTH_CACHE_TTL_MS.
      authenticator.forgetTenant(session.tenantId);
    }
    const tenant = (await accounts.tenants.get(session.tenantId)) ?? session.tenant;
    return c.json(await creditSettingsView(quotas.credits, tenant, now()), 200);
  });
}
