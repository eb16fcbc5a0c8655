import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BillingEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { type CreditKind, creditKinds } from '#shared/credits/burn-order';
import { ApiError } from '#shared/errors';
import type { ByKind } from '#shared/finance/credit-counters';
import { financeReport, monthsIn, totalOf } from '#shared/finance/finance-report';
import { formatUsd } from '#shared/metering/pricing';

/** The widest range one report covers. */
export const MAX_MONTHS = 24;

const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a calendar month as YYYY-MM')
  .refine((m) => m >= '2000-01' && m <= '2999-12', 'must be a month between 2000-01 and 2999-12');

const Query = z.object({
  month: Month.optional().openapi({ description: 'One calendar month (UTC). Default: this month.' }),
  from: Month.optional().openapi({ description: 'First month of a range (with `to`), inclusive.' }),
  to: Month.optional().openapi({ description: 'Last month of a range, inclusive (at most 24 months).' }),
});

const Usd = z.string().openapi({ example: '12.340000000' });
const kindShape = Object.fromEntries(creditKinds.map((k) => [k, Usd])) as Record<CreditKind, typeof Usd>;
const ByKindSchema = z.object({ ...kindShape, total: Usd });

const Finance = z
  .object({
    object: z.literal('finance'),
    from: z.string(),
    to: z.string(),
    currency: z.literal('usd'),
    billing: z.enum(['stripe', 'ledger']).openapi({
      description: '`ledger`: no provider is connected; receivables stand for the invoice previews.',
    }),
    receivables: z.object({
      source: z.enum(['stripe_invoices', 'invoice_previews']),
      label: z.string(),
      invoiced_usd: Usd.openapi({
        description: 'Invoices created in the range (not draft or void), their totals.',
      }),
      collected_usd: Usd.openapi({ description: 'What those invoices have been paid.' }),
      outstanding_usd: Usd.openapi({ description: 'What the open ones still owe.' }),
      uncollectible_usd: Usd.openapi({ description: 'What invoices marked uncollectible still owe.' }),
      count: z.number().int(),
      truncated: z
        .boolean()
        .openapi({ description: 'More than the report reads (2,000 invoices, or 200 previews).' }),
    }),
    credit: z.object({
      sold_usd: ByKindSchema.openapi({
        description: 'Granted in the range: paid is sold, promotional and trial given.',
      }),
      used_usd: ByKindSchema.extend({
        uncovered: Usd.openapi({ description: 'Use no grant paid for (a request that outlived its hold).' }),
      }),
      expired_usd: ByKindSchema.openapi({
        description: 'Left the balances unused at expiry, net of adjustments.',
      }),
      outstanding_usd: ByKindSchema.openapi({
        description:
          'At the end of the range: credit granted and neither used nor expired (a liability for paid credit).',
      }),
    }),
    mrr: z.object({
      month: z.string(),
      mrr_usd: Usd,
      subscriptions_usd: Usd,
      paid_credit_usd: Usd,
      definition: z.string(),
    }),
    past_due: z.array(
      z.object({
        tenant_id: z.string(),
        name: z.string().nullable(),
        past_due_since: z.string(),
        days_overdue: z.number().int(),
        grace_ends_at: z.string(),
        owed_usd: Usd.nullable().openapi({
          description: 'Open invoices of the range (Stripe); null in ledger-only mode.',
        }),
      }),
    ),
    refunds: z.object({
      count: z.number().int(),
      amount_usd: Usd,
      truncated: z.boolean(),
      data: z.array(
        z.object({
          id: z.string(),
          amount_usd: Usd,
          status: z.string().nullable(),
          payment_intent: z.string().nullable(),
          created_at: z.string(),
        }),
      ),
    }),
    credit_notes: z.object({
      count: z.number().int(),
      amount_usd: Usd,
      truncated: z.boolean(),
      data: z.array(
        z.object({
          id: z.string(),
          invoice: z.string(),
          amount_usd: Usd,
          status: z.string(),
          created_at: z.string(),
        }),
      ),
    }),
    provider_unavailable: z.string().nullable().openapi({
      description: 'Stripe did not answer part of the report: those parts read zero.',
    }),
  })
  .openapi('Finance');

export const MRR_DEFINITION =
  'Recurring revenue of the last complete calendar month: what the metered subscriptions invoiced for that ' +
  "month's usage (subscription invoices whose period starts in it) plus the paid prepaid credit used in it. " +
  'Metered plans have no fixed fee, so this is what the month actually earned, not a contracted amount; ' +
  'promotional and trial credit are not revenue.';

const LABELS = {
  stripe_invoices: "Stripe's invoices created in the range, every customer.",
  invoice_previews:
    'Ledger-only billing (no Stripe): invoiced stands for the invoice previews of postpaid tenants (usage beyond ' +
    'included units at list prices); nothing is sent or collected, so it is all outstanding.',
} as const;

const route = createRoute({
  method: 'get',
  path: '/admin/finance',
  tags: ['Admin'],
  summary:
    'Operator finance: receivables, credit sold/used/expired/outstanding, MRR, past due, refunds and credit notes',
  description:
    'For one month (`month`) or a range of months (`from`, `to`, at most 24). Credit comes from monthly totals ' +
    'kept with the ledger (one Query per shard); receivables, refunds and credit notes from Stripe (at most ' +
    '2,000 of each) or, in ledger-only mode, from the invoice previews (at most 200 tenant-months). ' +
    'See docs/billing.md, "Operator finance".',
  security: sessionSecurity,
  request: { query: Query },
  responses: {
    200: { description: 'The report', content: { 'application/json': { schema: Finance } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

const byKind = (b: ByKind) => ({
  ...(Object.fromEntries(creditKinds.map((k) => [k, formatUsd(b[k])])) as Record<CreditKind, string>),
  total: formatUsd(totalOf(b)),
});

/** The months asked for, checked: `month`, or `from` and `to`, never both. */
export function monthRange(q: { month?: string; from?: string; to?: string }, now: Date) {
  if (q.month && (q.from || q.to)) {
    throw new ApiError('invalid_request', "Give either 'month' or 'from' and 'to', not both.", {
      param: 'month',
    });
  }
  if (!q.month && (q.from === undefined) !== (q.to === undefined)) {
    const missing = q.from === undefined ? 'from' : 'to';
    throw new ApiError(
      'invalid_request',
      `'${missing}' is required with '${missing === 'from' ? 'to' : 'from'}'.`,
      {
        param: missing,
      },
    );
  }
  const from = q.month ?? q.from ?? now.toISOString().slice(0, 7);
  const to = q.month ?? q.to ?? from;
  if (from > to) throw new ApiError('invalid_request', "'from' must not be after 'to'.", { param: 'from' });
  if (monthsIn(from, to).length > MAX_MONTHS) {
    throw new ApiError('invalid_request', `A range may span at most ${MAX_MONTHS} months.`, {
      param: 'from',
    });
  }
  return { from, to };
}

export function registerFinanceGet(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const billing = c.get('deps').billing;
    const { from, to } = monthRange(c.req.valid('query'), billing.now());
    const r = await financeReport(billing, from, to);
    const cents = (n: number) => formatUsd(n);
    return c.json(
      {
        object: 'finance' as const,
        from,
        to,
        currency: 'usd' as const,
        billing: r.mode,
        receivables: {
          source: r.receivables.source,
          label: LABELS[r.receivables.source],
          invoiced_usd: formatUsd(r.receivables.invoicedNanoUsd),
          collected_usd: formatUsd(r.receivables.collectedNanoUsd),
          outstanding_usd: formatUsd(r.receivables.outstandingNanoUsd),
          uncollectible_usd: formatUsd(r.receivables.uncollectibleNanoUsd),
          count: r.receivables.count,
          truncated: r.receivables.truncated,
        },
        credit: {
          sold_usd: byKind(r.credit.sold),
          used_usd: {
            ...byKind(r.credit.used),
            total: formatUsd(totalOf(r.credit.used) + r.credit.usedUncovered),
            uncovered: formatUsd(r.credit.usedUncovered),
          },
          expired_usd: byKind(r.credit.expired),
          outstanding_usd: byKind(r.credit.outstanding),
        },
        mrr: {
          month: r.mrr.month,
          mrr_usd: formatUsd(r.mrr.nanoUsd),
          subscriptions_usd: formatUsd(r.mrr.subscriptionsNanoUsd),
          paid_credit_usd: formatUsd(r.mrr.paidCreditNanoUsd),
          definition: MRR_DEFINITION,
        },
        past_due: r.pastDue.map((p) => ({
          tenant_id: p.tenantId,
          name: p.name,
          past_due_since: p.since,
          days_overdue: p.daysOverdue,
          grace_ends_at: p.graceEndsAt,
          owed_usd: p.owedNanoUsd === null ? null : formatUsd(p.owedNanoUsd),
        })),
        refunds: {
          count: r.refunds.count,
          amount_usd: cents(r.refunds.nanoUsd),
          truncated: r.refunds.truncated,
          data: r.refunds.data.map((x) => ({
            id: x.id,
            amount_usd: formatUsd(x.amountCents * 10_000_000),
            status: x.status,
            payment_intent: x.paymentIntentId,
            created_at: x.createdAt,
          })),
        },
        credit_notes: {
          count: r.creditNotes.count,
          amount_usd: cents(r.creditNotes.nanoUsd),
          truncated: r.creditNotes.truncated,
          data: r.creditNotes.data.map((x) => ({
            id: x.id,
            invoice: x.invoiceId,
            amount_usd: formatUsd(x.totalCents * 10_000_000),
            status: x.status,
            created_at: x.createdAt,
          })),
        },
        provider_unavailable: r.providerUnavailable,
      },
      200,
    );
  });
}
