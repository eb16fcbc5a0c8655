import { z } from '@hono/zod-openapi';
import { type CreditKind, creditKinds } from '#shared/credits/burn-order';
import type { CreditEntry, CreditStatement, CreditStore } from '#shared/credits/credit-store';
import {
  type AutoRecharge,
  TOP_UP_MAX_CENTS,
  TOP_UP_MIN_CENTS,
  type TopUp,
} from '#shared/credits/top-up-store';
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
    purchase: z
      .object({
        purpose: z.enum(['top_up', 'auto_recharge']),
        payment_id: z.string().openapi({ description: "Stripe's PaymentIntent." }),
        amount_paid_usd: z.string().openapi({ example: '25.00' }),
        card: z.object({ brand: z.string(), last4: z.string() }).nullable(),
        paid_at: z.string(),
      })
      .nullable()
      .openapi({
        description: 'Credit bought through Stripe: the payment. Null for credit an operator granted.',
      }),
    receipt_url: z
      .string()
      .nullable()
      .openapi({
        description:
          "Paid grants: Stripe's receipt of the charge when bought through Stripe, else this platform's HTML receipt " +
          '(`/account/credits/grants/{id}/receipt`, behind the session). Null for promotional and trial credit.',
      }),
  })
  .openapi('CreditGrant');

/** Cents as dollars: 2500 -> "25.00" (exact). */
export const centsUsd = (cents: number) =>
  `${Math.floor(cents / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;

const TopUpSchema = z
  .object({
    id: z.string(),
    purpose: z.enum(['top_up', 'auto_recharge']),
    amount_usd: z.string().openapi({ example: '25.00' }),
    status: z.enum(['pending', 'paid', 'failed']).openapi({
      description: '`pending` until Stripe confirms the payment (a Checkout left unpaid stays pending).',
    }),
    created_at: z.string(),
    paid_at: z.string().nullable(),
    failure_reason: z.string().nullable(),
    grant_id: z.string().nullable(),
  })
  .openapi('TopUp');

export const AutoRechargeSchema = z
  .object({
    enabled: z.boolean(),
    threshold_usd: z
      .string()
      .openapi({ example: '5.00', description: 'Recharge when the balance is below this.' }),
    amount_usd: z.string().openapi({ example: '20.00', description: 'What each recharge buys.' }),
    max_per_day: z.number().int().openapi({ description: 'At most this many recharges per UTC day.' }),
    card: z
      .object({ brand: z.string(), last4: z.string(), saved_at: z.string() })
      .nullable()
      .openapi({ description: 'The card recharges charge: saved by a top-up with `save_card`.' }),
    recharges_today: z.number().int(),
    charging: z.boolean().openapi({ description: 'A recharge is under way.' }),
    last_attempt: z
      .object({
        status: z.enum(['succeeded', 'failed']),
        amount_usd: z.string(),
        at: z.string(),
        reason: z.string().nullable().openapi({ description: 'Why it failed, as the card issuer said.' }),
        payment_id: z.string().nullable(),
      })
      .nullable(),
    disabled_reason: z.enum(['recharge_failed']).nullable().openapi({
      description: '`recharge_failed`: switched off after a declined recharge, until you turn it on again.',
    }),
  })
  .openapi('AutoRecharge');

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
    top_up: z.object({
      available: z
        .boolean()
        .openapi({ description: 'Whether credit can be bought by card here (Stripe is connected).' }),
      how: z.string().openapi({ description: 'How to get credit on this platform.' }),
    }),
    top_ups: z
      .array(TopUpSchema)
      .openapi({ description: 'The latest top-ups and recharge attempts, newest first.' }),
    auto_recharge: AutoRechargeSchema,
  })
  .openapi('Credits');

/** One top-up's amount: USD with at most 2 decimals (cents), within the bounds. */
export const CentsInput = z
  .union([z.number(), z.string()])
  .superRefine((v, ctx) => {
    const s = typeof v === 'number' ? String(v) : v.trim();
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (!/^-?\d+(\.\d+)?$/.test(s)) return fail('must be an amount of USD, e.g. "25.00"');
    if (s.startsWith('-') || /^0+(\.0+)?$/.test(s)) return fail('must be above 0');
    if ((s.split('.')[1] ?? '').length > 2) return fail('must have at most 2 decimal places (whole cents)');
    const cents = toCents(s);
    if (cents < TOP_UP_MIN_CENTS) return fail(`must be at least ${centsUsd(TOP_UP_MIN_CENTS)}`);
    if (cents > TOP_UP_MAX_CENTS) return fail(`must be at most ${centsUsd(TOP_UP_MAX_CENTS)}`);
  })
  .openapi({
    example: '25.00',
    description: 'US dollars with at most 2 decimal places, from 5.00 to 5000.00 (a string, or a number).',
  });

/** Checked by `CentsInput` (or a like pattern) already: "25.5" -> 2550. */
export function toCents(v: number | string): number {
  const [whole, frac = ''] = String(v).trim().split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

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

function topUpView(t: TopUp) {
  return {
    id: t.id,
    purpose: t.purpose,
    amount_usd: centsUsd(t.amountCents),
    status: t.status,
    created_at: t.createdAt,
    paid_at: t.paidAt,
    failure_reason: t.failure?.reason ?? null,
    grant_id: t.grantId,
  };
}

export function autoRechargeView(r: AutoRecharge, now: Date): z.infer<typeof AutoRechargeSchema> {
  const today = now.toISOString().slice(0, 10);
  return {
    enabled: r.enabled,
    threshold_usd: formatUsd(r.thresholdNanoUsd),
    amount_usd: centsUsd(r.amountCents),
    max_per_day: r.maxPerDay,
    card: r.card ? { brand: r.card.brand, last4: r.card.last4, saved_at: r.card.savedAt } : null,
    recharges_today: r.day === today ? r.countToday : 0,
    charging: r.state === 'charging',
    last_attempt: r.last
      ? {
          status: r.last.status,
          amount_usd: centsUsd(r.last.amountCents),
          at: r.last.at,
          reason: r.last.reason,
          payment_id: r.last.paymentId,
        }
      : null,
    disabled_reason: r.disabledReason === 'recharge_failed' ? 'recharge_failed' : null,
  };
}

/** Whether credit can be bought by card, and how to get it either way. */
export function topUpAvailability(connected: boolean) {
  return {
    available: connected,
    how: connected
      ? 'Top up by card (Stripe Checkout) with POST /account/credits/top-ups, or let auto-recharge do it.'
      : 'Card payments are not connected on this platform: credit is granted by an operator. Ask your platform operator.',
  };
}

/** The tenant's credit, brought up to date (lazy expiries and burns), with a page of the ledger. */
export async function creditsView(
  credits: CreditStore,
  tenant: Tenant,
  now: Date,
  page: { limit?: number; cursor?: string },
  opts: { connected: boolean },
): Promise<z.infer<typeof CreditsSchema>> {
  const s: CreditStatement = await credits.statement(tenant.id, now);
  const [entries, topUps, recharge] = await Promise.all([
    credits.entries(tenant.id, { limit: page.limit ?? 50, cursor: page.cursor }),
    credits.topUps.recent(tenant.id, 20),
    credits.topUps.autoRecharge(tenant.id),
  ]);
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
        purchase: g.payment
          ? {
              purpose: g.payment.purpose,
              payment_id: g.payment.paymentId,
              amount_paid_usd: centsUsd(g.payment.amountCents),
              card: g.payment.card,
              paid_at: g.payment.paidAt,
            }
          : null,
        receipt_url:
          g.kind !== 'paid'
            ? null
            : (g.payment?.receiptUrl ?? `/account/credits/grants/${encodeURIComponent(g.id)}/receipt`),
      })),
    entries: entries.entries.map(entryView),
    next_cursor: entries.cursor,
    top_up: topUpAvailability(opts.connected),
    top_ups: topUps.map(topUpView),
    auto_recharge: autoRechargeView(recharge, now),
  };
}
