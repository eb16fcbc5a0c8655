import { z } from '@hono/zod-openapi';
import { type CreditKind, creditKinds } from '#shared/credits/burn-order';
import type { CreditEntry, CreditStatement, CreditStore } from '#shared/credits/credit-store';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import type { Tenant } from '#shared/tenants/tenant-store';
import { UsdInput } from './limits-schemas';

/** Schemas and the view of a tenant's credit, shared by `/account/credits` and `/admin/tenants/{id}/credits`. */

const Usd = z.string().openapi({ example: '5.000000000' });

const GrantSchema = z
  .object({
    id: z.string().openapi({ example: 'crg_01M885NG1ACXMCH87B3XRQVEKV' }),
    kind: z.enum(creditKinds as [CreditKind, ...CreditKind[]]),
    amount_usd: Usd,
    burned_usd: Usd,
    expired_usd: Usd.openapi({
      description: 'What left the balance at expiry (provisional while `expiring`, exact once `expired`).',
    }),
    left_usd: Usd.openapi({ description: 'What is left of it, net of use not yet in the ledger.' }),
    status: z.enum(['active', 'expiring', 'expired']),
    created_at: z.string(),
    expires_at: z.string(),
    note: z.string().nullable(),
    granted_by: z.string(),
  })
  .openapi('CreditGrant');

const EntrySchema = z
  .object({
    id: z.string(),
    type: z.enum(['grant', 'burn', 'expiry', 'expiry_adjustment']),
    at: z.string(),
    amount_usd: Usd.openapi({ description: 'Signed: + adds to the balance, - takes from it.' }),
    grant_id: z.string().nullable(),
    kind: z.enum(creditKinds as [CreditKind, ...CreditKind[]]).nullable(),
    requests: z.number().int().nullable().openapi({ description: 'Burns: how many requests.' }),
    from: z.string().nullable().openapi({ description: 'Burns: the requests started from...' }),
    to: z.string().nullable().openapi({ description: '...until (exclusive).' }),
    note: z.string().nullable(),
  })
  .openapi('CreditEntry');

export const CreditsSchema = z
  .object({
    object: z.literal('credits'),
    tenant_id: z.string(),
    billing_mode: z.enum(['prepaid', 'postpaid']),
    free_only: z.boolean().openapi({
      description:
        'Admitted against the balance only and never invoiced; refused at zero. On for new trial accounts.',
    }),
    currency: z.literal('usd'),
    balance_usd: Usd.openapi({
      description: 'What every valid grant has left, net of use recorded and not yet in the ledger.',
    }),
    available_usd: Usd.openapi({
      description:
        'What new requests may reserve now: the balance less what requests in flight hold (their worst case). ' +
        'After an expiry it is lower, until the requests in flight at the expiry are in the ledger.',
    }),
    pending_usd: Usd.openapi({ description: 'Use recorded, not yet burned into the ledger.' }),
    by_kind: z.object({ paid: Usd, promotional: Usd, trial: Usd }),
    burn_order: z.string(),
    grants: z.array(GrantSchema),
    entries: z.array(EntrySchema).openapi({ description: 'The ledger, newest first, one page.' }),
    next_cursor: z.string().nullable(),
  })
  .openapi('Credits');

export const CreditsQuery = z.object({
  limit: z.coerce.number().int('must be a whole number').min(1).max(200).optional(),
  cursor: z.string().max(2048).optional(),
});

export const GrantInput = z
  .object({
    amount_usd: UsdInput,
    kind: z.enum(creditKinds as [CreditKind, ...CreditKind[]]),
    expires_at: z
      .string()
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z' })
      .openapi({ example: '2027-12-31T23:59:59Z', description: 'In the future.' }),
    note: z.string().trim().max(500, 'must be at most 500 characters').optional(),
    currency: z
      .string()
      .optional()
      .refine((v) => v === undefined || v.toLowerCase() === 'usd', {
        message: 'must be usd: balances are kept in USD',
      })
      .openapi({ example: 'usd' }),
  })
  .strict()
  .openapi('CreditGrantRequest');

export const BillingModeInput = z
  .object({
    billing_mode: z.enum(['prepaid', 'postpaid']).optional(),
    free_only: z
      .boolean()
      .optional()
      .openapi({
        description:
          'true: admitted against the balance only, never invoiced (prepaid). false: paid use (stays prepaid with paid ' +
          'credit, else postpaid). `postpaid` turns free-only off too.',
      }),
  })
  .strict()
  .refine((b) => b.billing_mode !== undefined || b.free_only !== undefined, {
    message: 'give billing_mode or free_only',
    path: ['billing_mode'],
  })
  .openapi('BillingModeRequest');

export const BURN_ORDER =
  'promotional credit (trial grants included) before paid, earliest expiry first, then the oldest grant';

function entryView(e: CreditEntry) {
  return {
    id: e.id,
    type: e.type,
    at: e.at,
    amount_usd: formatUsd(e.amountNanoUsd),
    grant_id: e.grantId ?? null,
    kind: e.kind ?? null,
    requests: e.requests ?? null,
    from: e.from ?? null,
    to: e.to ?? null,
    note: e.note ?? null,
  };
}

/** The tenant's credit, brought up to date (lazy expiries and burns), with a page of the ledger. */
export async function creditsView(
  credits: CreditStore,
  tenant: Tenant,
  now: Date,
  page: { limit?: number; cursor?: string },
): Promise<z.infer<typeof CreditsSchema>> {
  const s: CreditStatement = await credits.statement(tenant.id, now);
  const entries = await credits.entries(tenant.id, { limit: page.limit ?? 50, cursor: page.cursor });
  if (entries === 'bad_cursor') {
    throw new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", {
      param: 'cursor',
    });
  }
  return {
    object: 'credits',
    tenant_id: tenant.id,
    billing_mode: tenant.billingMode === 'prepaid' ? 'prepaid' : 'postpaid',
    free_only: tenant.freeOnly === true,
    currency: 'usd',
    balance_usd: formatUsd(s.balanceNanoUsd),
    available_usd: formatUsd(s.balance?.availableNanoUsd ?? 0),
    pending_usd: formatUsd(s.pendingNanoUsd),
    by_kind: {
      paid: formatUsd(s.byKind.paid),
      promotional: formatUsd(s.byKind.promotional),
      trial: formatUsd(s.byKind.trial),
    },
    burn_order: BURN_ORDER,
    grants: [...s.grants]
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .map((g) => ({
        id: g.id,
        kind: g.kind,
        amount_usd: formatUsd(g.amountNanoUsd),
        burned_usd: formatUsd(g.burnedNanoUsd),
        expired_usd: formatUsd(g.expiredNanoUsd),
        left_usd: formatUsd(s.left.get(g.id) ?? 0),
        status: g.status,
        created_at: g.createdAt,
        expires_at: g.expiresAt,
        note: g.note,
        granted_by: g.grantedBy,
      })),
    entries: entries.entries.map(entryView),
    next_cursor: entries.cursor,
  };
}
