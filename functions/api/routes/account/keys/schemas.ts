import { z } from '@hono/zod-openapi';
import { ApiKeySchema } from '#api/console/account-schemas';
import { normalizeEmail } from '#shared/accounts/email-address';
import type { Member } from '#shared/accounts/user-store';
import type { BudgetRecipient, KeyBudgetAlertRule, KeyLimits } from '#shared/auth/api-key-store';
import { type KeyScope, keyEndpoints } from '#shared/auth/key-scope';
import { isEmptyScope } from '#shared/auth/key-scope-rules';
import { apiKeyScopes } from '#shared/auth/scopes';
import { parseModelRef } from '#shared/catalog/resolver';
import type { Catalog } from '#shared/catalog/types';
import { ApiError } from '#shared/errors';
import { type Cidr, format as formatCidr, parseCidr } from '#shared/http/cidr';
import { usdToNano } from '#shared/metering/pricing';
import { BUDGET_THRESHOLDS } from '#shared/quotas/key-budget-rules';

/** The most models, or IP ranges, one key's scope may list. */
const MAX_SCOPE_ENTRIES = 50;

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

/**
 * What a key is restricted to (shared/auth/key-scope.ts), as the API takes it. Each part narrows:
 * absent (or empty) leaves it open. IP ranges are checked here; models against the catalog in
 * `toScope`. Ranges and models are kept as given (canonical ranges), duplicates refused.
 */
export const KeyScopeInput = z
  .object({
    models: z
      .array(
        z
          .string()
          .max(130)
          .refine((m) => parseModelRef(m) !== undefined, 'must be a model name or `name@version`'),
      )
      .max(MAX_SCOPE_ENTRIES)
      .refine((m) => new Set(m).size === m.length, 'must not repeat a model')
      .optional()
      .openapi({
        description:
          'Models (`chat`: any of its versions) or versions (`chat@tiny-1`) the key may call; absent or empty: all. A request naming only the model is served a version in the scope (the first listed) when the tenant’s pin or traffic would pick another; a request naming a version or alias outside it is 403 `model_not_in_key_scope`.',
        example: ['chat@tiny-1', 'sentiment'],
      }),
    endpoints: z
      .array(z.enum(keyEndpoints, { error: `must be one of ${keyEndpoints.join(', ')}` }))
      .max(keyEndpoints.length)
      .refine((e) => new Set(e).size === e.length, 'must not repeat an endpoint')
      .optional()
      .openapi({
        description:
          'Endpoints the key may call: `chat` (/v1/chat), `embeddings`, `text` (/v1/text), `images` (/v1/images), `batch` (/v1/files, /v1/batches; a batch’s lines also need their own endpoint). Absent or empty: all.',
        example: ['chat', 'text'],
      }),
    read_only: z.boolean().optional().openapi({
      description:
        'Only reads: list models, read usage, files and batches (GET). No inference, no uploads, no batches.',
    }),
    ip_allowlist: z
      .array(
        z
          .string()
          .max(64)
          .superRefine((v, ctx) => {
            const r = parseCidr(v);
            if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
          }),
      )
      .max(MAX_SCOPE_ENTRIES)
      .optional()
      .openapi({
        description:
          'CIDR ranges (IPv4 or IPv6; a bare address is its own range) the key may be used from, checked on the address the edge vouches for. A request from elsewhere, or whose address is not known, is 403 `ip_not_in_key_allowlist`. Absent or empty: anywhere.',
        example: ['203.0.113.0/24', '2001:db8::/32'],
      }),
  })
  .strict()
  .openapi('KeyScopeInput');

type KeyScopeBody = z.infer<typeof KeyScopeInput>;

/**
 * Turns a scope from the API into the store's shape, checking each model and version against the
 * catalog (an unknown model, version, an alias or a retired version is a 400 naming
 * `scope.models[i]`). An empty scope is none (null).
 */
export function toScope(s: KeyScopeBody | null | undefined, catalog: Catalog): KeyScope | null {
  if (!s) return null;
  (s.models ?? []).forEach((m, i) => {
    const param = `scope.models[${i}]`;
    const why = modelProblem(m, catalog);
    if (why) throw new ApiError('invalid_request', `'${param}': ${why}`, { param });
  });
  const scope: KeyScope = {
    ...(s.models?.length ? { models: s.models } : {}),
    ...(s.endpoints?.length ? { endpoints: s.endpoints } : {}),
    ...(s.read_only ? { readOnly: true } : {}),
    ...(s.ip_allowlist?.length
      ? { ipAllowlist: s.ip_allowlist.map((r) => formatCidr(parseCidr(r) as Cidr)) }
      : {}),
  };
  return isEmptyScope(scope) ? null : scope;
}

/** Why `m` cannot be in a scope: no such model or version, an alias (aliases move), retired. */
function modelProblem(m: string, catalog: Catalog): string | null {
  const ref = parseModelRef(m);
  if (!ref) return 'must be a model name or `name@version`.';
  const entry = catalog.models.get(ref.name);
  if (entry?.model.status !== 'active') return `there is no model '${ref.name}' (GET /v1/models lists them).`;
  if (ref.requested === undefined) return null;
  const alias = entry.model.aliases[ref.requested];
  if (alias !== undefined)
    return `'${ref.requested}' is an alias of ${ref.name}, and aliases move: name the version (${ref.name}@${alias}) or the model.`;
  const version = entry.versions.get(ref.requested);
  if (!version) return `'${ref.name}' has no version '${ref.requested}'.`;
  if (version.status === 'retired') return `${m} is retired.`;
  return null;
}
