import { z } from '@hono/zod-openapi';
import { ApiKeySchema } from '#api/console/account-schemas';
import { apiKeyScopes } from '#shared/auth/scopes';
import { usdToNano } from '#shared/metering/pricing';

/** An ISO 8601 time with a zone, e.g. `2026-12-31T23:59:59Z`. */
export const FutureTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-12-31T23:59:59Z' })
  .openapi({ example: '2026-12-31T23:59:59Z' });

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
      .openapi({ description: 'This key’s own monthly spend cap in USD, at list prices.' }),
  })
  .strict()
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

/** Turns API limits into the store's shape. */
export function toLimits(l: z.infer<typeof KeyLimitsInput> | undefined) {
  if (!l) return null;
  return {
    ...(l.requests_per_minute !== undefined ? { requestsPerMinute: l.requests_per_minute } : {}),
    ...(l.tokens_per_minute !== undefined ? { tokensPerMinute: l.tokens_per_minute } : {}),
    ...(l.monthly_spend_cap_usd !== undefined
      ? { spendCapNanoUsd: usdToNano(l.monthly_spend_cap_usd) ?? 0 }
      : {}),
  };
}
