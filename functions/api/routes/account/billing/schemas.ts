import { z } from '@hono/zod-openapi';
import { ChannelSchema } from '#api/console/channel-schema';
import type { GatewayFailure } from '#shared/billing/billing';
import { ApiError } from '#shared/errors';

const Usd = z.string().openapi({ example: '12.345000000', description: 'US dollars, nine decimal places.' });
const Cents = z.string().openapi({ example: '12.35', description: 'US dollars, as invoiced (to the cent).' });
const Units = z
  .object({
    input_tokens: z.number().int().optional(),
    output_tokens: z.number().int().optional(),
    images: z.number().int().optional(),
  })
  .openapi('Units');

export const BillingResponse = z
  .object({
    object: z.literal('billing'),
    connected: z.boolean().openapi({ description: 'Whether payments go through Stripe on this platform.' }),
    message: z
      .string()
      .nullable()
      .openapi({ description: 'What to know, e.g. that billing is not connected.' }),
    plan: z.object({
      id: z.string(),
      name: z.string(),
      bills_overage: z.boolean(),
      included: Units.openapi({ description: 'Units included each calendar month (UTC).' }),
    }),
    status: z.enum(['none', 'active', 'past_due', 'suspended', 'canceled']).openapi({
      description: 'Billing standing: `none` until a subscription starts.',
    }),
    tenant_status: z.string(),
    past_due_since: z.string().nullable(),
    grace_ends_at: z.string().nullable().openapi({ description: 'When a past-due account is suspended.' }),
    period: z.object({ month: z.string(), start: z.string(), end: z.string() }),
    running_cost: z.object({
      total_usd: Usd,
      by_version: z.array(
        z.object({
          model: z.string(),
          version: z.string(),
          channel: ChannelSchema,
          requests: z.number().int(),
          input_tokens: z.number().int(),
          output_tokens: z.number().int(),
          images: z.number().int(),
          cost_usd: Usd,
        }),
      ),
    }),
    invoice_preview: z
      .object({
        currency: z.literal('usd'),
        lines: z.array(
          z.object({
            description: z.string().openapi({ example: 'Chat tiny-1 — output tokens' }),
            model: z.string(),
            version: z.string(),
            unit: z.string(),
            channel: ChannelSchema.openapi({
              description:
                'A batch line is a line of its own (its description ends in "(batch)"), at the batch price.',
            }),
            used: z.number().int(),
            included: z.number().int(),
            billable: z.number().int(),
            unit_price_usd: Usd,
            amount_usd: Usd,
            amount_due_usd: Cents,
          }),
        ),
        subtotal_usd: Usd,
        total_due_usd: Cents,
        note: z.string(),
      })
      .openapi({ description: 'What the ledger says this month will be billed.' }),
    invoices: z
      .array(
        z.object({
          id: z.string(),
          number: z.string().nullable(),
          status: z.string().nullable(),
          currency: z.string(),
          total: Cents,
          amount_due: Cents,
          period_start: z.string(),
          period_end: z.string(),
          created_at: z.string(),
          hosted_invoice_url: z.string().nullable(),
          invoice_pdf: z.string().nullable(),
        }),
      )
      .nullable()
      .openapi({
        description:
          'Past invoices from Stripe; null when billing is not connected or Stripe did not answer.',
      }),
    statements: z.array(z.object({ month: z.string(), url: z.string() })).openapi({
      description:
        "The ledger's monthly statements (HTML, behind the session), newest first: the months since the account was made, at most 12. Without Stripe they are the documents to keep.",
    }),
  })
  .openapi('Billing');

export const SessionUrlResponse = z
  .object({
    object: z.enum(['checkout_session', 'portal_session']),
    id: z.string().optional(),
    url: z.string().openapi({ description: 'Send the browser here.' }),
  })
  .openapi('BillingSessionUrl');

/** Integer cents as dollars: `1234` -> `"12.34"`. */
export function centsToUsd(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A provider failure, as the answer a console user gets. */
export function providerError(f: GatewayFailure): ApiError {
  if (f.kind === 'not_connected') {
    return new ApiError(
      'billing_not_connected',
      'Billing is not connected on this platform (no Stripe key): usage is metered and priced in the ledger, but no card can be added.',
    );
  }
  const why =
    f.kind === 'throttled' ? 'is busy' : f.kind === 'unavailable' ? 'did not answer' : 'refused the request';
  return new ApiError('billing_unavailable', `Stripe ${why}; try again in a minute.`, {
    headers: { 'retry-after': '30' },
    cause: 'message' in f ? new Error(f.message) : undefined,
  });
}
