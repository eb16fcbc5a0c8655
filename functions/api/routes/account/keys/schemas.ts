import { z } from '@hono/zod-openapi';
import { ApiKeySchema } from '#api/console/account-schemas';
import { normalizeEmail } from '#shared/accounts/email-address';
import type { Member } from '#shared/accounts/user-store';
import type { BudgetRecipient, KeyBudgetAlertRule, KeyLimits } from '#shared/auth/api-key-store';
import { apiKeyScopes } from '#shared/auth/scopes';
import { ApiError } from '#shared/errors';
import { usdToNano } from '#shared/metering/pricing';
import { BUDGET_THRESHOLDS } from '#shared/quotas/key-budget-rules';

/** An ISO 8601 time with a zone, e.g. `2026-12-31T23:59:59Z`. */
export const FutureTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-12-31T23:59:59Z' })
  .openapi({ example: '2026-12-31T23:59:59Z' });

const Recipient = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(254)
  .refine(
    (v) => v === 'owner' || v === 'creator' || /^[^\s@]+@[^\s@]+$/.test(v),
    'must be `owner`, `creator` or a team member’s email address',
  )
  .openapi({
    description:
      '`owner` (every owner of the account), `creator` (the member who made the key) or the email address of a member of your team.',
    example: 'owner',
  });

const BudgetAlertInput = z
  .object({
    threshold: z
      .number()
      .int('must be 50, 80 or 100')
      .refine((v) => (BUDGET_THRESHOLDS as readonly number[]).includes(v), 'must be 50, 80 or 100')
      .openapi({ description: 'Percent of the monthly budget: 50, 80 or 100.', example: 80 }),
    recipients: z
      .array(Recipient)
      .min(1, 'must name at least one recipient')
      .max(20)
      .refine((r) => new Set(r.map((x) => x.toLowerCase())).size === r.length, 'must not repeat a recipient'),
  })
  .strict();

export const BUDGET_MODES = ['hard_stop', 'alert_only'] as const;

export const KeyLimitsInput = z
  .object({
    requests_per_minute: z.number().int('must be a whole number').min(1).max(1_000_000).optional(),
    tokens_per_minute: z.number().int('must be a whole number').min(1).max(1_000_000_000).optional(),
    monthly_spend_cap_usd: z
      .number()
      .positive('must be more than 0')
      .max(1_000_000)
      .refine((v) => usdToNano(v) !== null, 'must have at most 9 decimal places')
      .optional()
      .openapi({
        description:
          'This key’s monthly budget in USD, at list prices: a hard stop (`budget_mode`) unless it only alerts.',
      }),
    budget_mode: z.enum(BUDGET_MODES, { message: 'must be `hard_stop` or `alert_only`' }).optional().openapi({
      description:
        '`hard_stop` (default): a request that could take the key past its budget is refused (429 `spend_cap_reached`). `alert_only`: never refused; the budget only raises its alerts.',
    }),
    budget_alerts: z
      .array(BudgetAlertInput)
      .max(BUDGET_THRESHOLDS.length)
      .refine((a) => new Set(a.map((x) => x.threshold)).size === a.length, 'must not repeat a threshold')
      .optional()
      .openapi({
        description:
          'Which thresholds alert, once each per month, and who is emailed for each. Absent: 50, 80 and 100%, each to `owner` and `creator`. Empty: no alerts.',
      }),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.monthly_spend_cap_usd !== undefined) return;
    for (const field of ['budget_mode', 'budget_alerts'] as const) {
      if (l[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'needs `monthly_spend_cap_usd`: the budget it applies to',
        });
    }
  })
  .openapi({
    description:
      'Narrows this key below the tenant’s limits (owners only). A key over its limit gets 429 naming the key.',
  });

export const Scopes = z
  .array(z.enum(apiKeyScopes))
  .max(apiKeyScopes.length)
  .refine((s) => new Set(s).size === s.length, 'must not repeat a scope')
  .openapi({ description: 'Empty or absent: everything an API key can do.' });

export const KeyId = z
  .object({
    key_id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'key_id', in: 'path' }, example: 'key_01J...' }),
  })
  .openapi('KeyIdParam');

export const ApiKeyWithSecret = ApiKeySchema.extend({
  secret: z.string().openapi({ description: 'Shown once: only its hash is stored.', example: 'tg_live_...' }),
}).openapi('ApiKeyWithSecret');

type KeyLimitsBody = z.infer<typeof KeyLimitsInput>;

/**
 * Turns API limits into the store's shape: recipients named by address become the members they
 * are (by user id). An address that is not a member of this tenant (unknown, or another tenant's)
 * is a 400 naming the field, one message for both.
 */
export async function toLimits(
  l: KeyLimitsBody | null | undefined,
  team: { tenantId: string; listMembers: (tenantId: string) => Promise<Member[]> },
): Promise<KeyLimits | null> {
  if (!l) return null;
  let budgetAlerts: KeyBudgetAlertRule[] | undefined;
  if (l.budget_alerts) {
    const named = l.budget_alerts.some((a) => a.recipients.some((r) => r !== 'owner' && r !== 'creator'));
    const members = named ? await team.listMembers(team.tenantId) : [];
    const byEmail = new Map(members.map((m) => [normalizeEmail(m.email), m]));
    budgetAlerts = l.budget_alerts
      .map((a, i) => ({
        threshold: a.threshold as KeyBudgetAlertRule['threshold'],
        recipients: a.recipients.map((r, j): BudgetRecipient => {
          if (r === 'owner' || r === 'creator') return { kind: r };
          const member = byEmail.get(normalizeEmail(r));
          if (!member) {
            const param = `limits.budget_alerts[${i}].recipients[${j}]`;
            throw new ApiError('invalid_request', `'${param}': ${r} is not a member of your team.`, {
              param,
            });
          }
          return { kind: 'member', userId: member.userId, email: member.email };
        }),
      }))
      .sort((a, b) => a.threshold - b.threshold);
  }
  return {
    ...(l.requests_per_minute !== undefined ? { requestsPerMinute: l.requests_per_minute } : {}),
    ...(l.tokens_per_minute !== undefined ? { tokensPerMinute: l.tokens_per_minute } : {}),
    ...(l.monthly_spend_cap_usd !== undefined
      ? { spendCapNanoUsd: usdToNano(l.monthly_spend_cap_usd) ?? 0 }
      : {}),
    ...(l.budget_mode !== undefined ? { budgetMode: l.budget_mode } : {}),
    ...(budgetAlerts !== undefined ? { budgetAlerts } : {}),
  };
}
