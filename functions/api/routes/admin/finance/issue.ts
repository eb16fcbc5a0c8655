import { createHash } from 'node:crypto';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { sessionSecurity } from '#api/console/account-schemas';
import { UsdInput } from '#api/console/limits-schemas';
import type { BillingEnv } from '#api/http/env';
import { operatorSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import type { GatewayFailure } from '#shared/billing/billing';
import { ApiError } from '#shared/errors';
import type { IssuedRecord } from '#shared/finance/finance-store';
import { isId } from '#shared/ids';
import { formatUsd, usdToNano } from '#shared/metering/pricing';
import { providerError } from '../../account/billing/schemas';

const CENT = 10_000_000;

const TenantId = z.object({
  tenant_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'tenant_id', in: 'path' } }),
});

const Currency = z
  .string()
  .optional()
  .refine((v) => v === undefined || v.toLowerCase() === 'usd', {
    message: 'must be usd: Tollgate bills in USD',
  })
  .openapi({ example: 'usd' });

const IdemHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({
      description:
        'Optional. Without it, a second request for the same amount of the same payment (or invoice) is the same ' +
        'refund (or credit note), answered again; send a new key to issue another of the same amount.',
    }),
});

const RefundInput = z
  .object({
    payment_intent: z
      .string()
      .regex(/^pi_[A-Za-z0-9]{1,200}$/, "must be a Stripe payment id ('pi_...')")
      .openapi({ description: "A top-up's payment, or the payment of an invoice." }),
    amount_usd: UsdInput.openapi({ description: 'Above 0, whole cents, at most what is left to refund.' }),
    currency: Currency,
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
  })
  .strict()
  .openapi('RefundRequest');

const CreditNoteInput = z
  .object({
    invoice: z.string().regex(/^in_[A-Za-z0-9]{1,200}$/, "must be a Stripe invoice id ('in_...')"),
    amount_usd: UsdInput.openapi({
      description: 'Above 0, whole cents, at most what the invoice can still be credited.',
    }),
    currency: Currency,
    memo: z.string().trim().max(500, 'must be at most 500 characters').optional(),
  })
  .strict()
  .openapi('CreditNoteRequest');

const Issued = z
  .object({
    object: z.enum(['refund', 'credit_note']),
    id: z.string().openapi({ description: "Stripe's id (`re_...`, `cn_...`)." }),
    tenant_id: z.string(),
    against: z.string().openapi({ description: 'The payment or invoice.' }),
    amount_usd: z.string(),
    currency: z.literal('usd'),
    created_at: z.string(),
    replayed: z
      .boolean()
      .openapi({ description: 'An earlier identical request issued it; nothing new was issued.' }),
  })
  .openapi('IssuedRefundOrCreditNote');

const answers = (what: string) => ({
  201: { description: `The ${what}, issued`, content: { 'application/json': { schema: Issued } } },
  200: {
    description: `The ${what} an identical earlier request issued`,
    content: { 'application/json': { schema: Issued } },
  },
  ...errorResponses('console', [
    ...errorsOf.session,
    ...errorsOf.jsonBody,
    'not_found',
    'conflict',
    'billing_not_connected',
    'billing_unavailable',
  ]),
});

const refundRoute = createRoute({
  method: 'post',
  path: '/admin/finance/tenants/{tenant_id}/refunds',
  tags: ['Admin'],
  summary: "Refund part or all of a tenant's payment through Stripe (a top-up, or an invoice's payment)",
  description:
    "Stripe only (ledger-only: 409 billing_not_connected). The payment must be the tenant's (else 404), succeeded, " +
    'in USD, and the amount at most what is left to refund. Idempotent: the Stripe idempotency key is derived ' +
    'from the tenant, the payment, the amount in cents and the optional `Idempotency-Key` header. Audited ' +
    '(`tenant.refund`) once. The refund takes no credit out of a balance: see docs/billing.md.',
  security: sessionSecurity,
  request: {
    params: TenantId,
    headers: IdemHeader,
    body: { required: true, content: { 'application/json': { schema: RefundInput } } },
  },
  responses: answers('refund'),
});

const creditNoteRoute = createRoute({
  method: 'post',
  path: '/admin/finance/tenants/{tenant_id}/credit-notes',
  tags: ['Admin'],
  summary: "Issue a credit note on one of a tenant's Stripe invoices",
  description:
    "On an open invoice it lowers what is due; on a paid one the amount goes to the customer's Stripe balance, " +
    'applied to the next invoice (to give money back, refund the payment). Stripe only (ledger-only: 409 ' +
    "billing_not_connected); the invoice must be the tenant's (else 404), open or paid, in USD, and the amount at " +
    'most what it can still be credited. Idempotent like refunds; audited (`tenant.credit_note`) once.',
  security: sessionSecurity,
  request: {
    params: TenantId,
    headers: IdemHeader,
    body: { required: true, content: { 'application/json': { schema: CreditNoteInput } } },
  },
  responses: answers('credit note'),
});

function wholeCents(usd: number | string): number {
  const nano = usdToNano(usd)!;
  if (nano % CENT !== 0) {
    throw new ApiError('invalid_request', "'amount_usd' must be whole cents (Stripe moves cents).", {
      param: 'amount_usd',
    });
  }
  return nano / CENT;
}

/** The tenant's Stripe customer, or a 404 (an unknown tenant, or one that never had a customer). */
async function customerOf(c: Context<BillingEnv>, tenantId: string, what: string, id: string) {
  const { billing } = c.get('deps');
  const tenant = isId(tenantId, 'ten') ? await billing.tenants.get(tenantId) : undefined;
  if (!tenant) throw new ApiError('not_found', `No tenant '${tenantId}'.`, { param: 'tenant_id' });
  if (billing.gateway.mode !== 'stripe') throw providerError({ kind: 'not_connected' });
  const account = await billing.store.getAccount(tenantId);
  if (!account?.customerId) throw notTheTenants(what, id, tenantId);
  return account.customerId;
}

const notTheTenants = (what: string, id: string, tenantId: string) =>
  new ApiError('not_found', `No ${what} '${id}' for tenant '${tenantId}'.`, {
    param: what === 'payment' ? 'payment_intent' : 'invoice',
  });

/** A provider failure: a missing object is the tenant's 404; a refusal says why; the rest is 503. */
function failed(f: GatewayFailure, what: string, id: string, tenantId: string): ApiError {
  if (f.kind === 'rejected' && f.code === 'resource_missing') return notTheTenants(what, id, tenantId);
  if (f.kind === 'rejected') return new ApiError('conflict', `Stripe refused it: ${f.message}`);
  return providerError(f);
}

/** A deterministic Stripe idempotency key: the same request (and header) always sends the same key. */
function idempotencyKey(kind: string, tenantId: string, against: string, cents: number, header?: string) {
  const digest = createHash('sha256')
    .update([kind, tenantId, against, String(cents), header ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 40);
  return `tollgate-${kind}-${digest}`;
}

function view(r: IssuedRecord & { at: string }, replayed: boolean) {
  return {
    object: r.kind,
    id: r.objectId,
    tenant_id: r.tenantId,
    against: r.against,
    amount_usd: formatUsd(r.amountCents * CENT),
    currency: 'usd' as const,
    created_at: r.at,
    replayed,
  };
}

async function recordIssued(c: Context<BillingEnv>, r: IssuedRecord) {
  const { billing } = c.get('deps');
  const op = operatorSession(c);
  const at = billing.now();
  const outcome = await billing.finance.record(
    r,
    { kind: 'operator', id: op.operatorId, email: op.email },
    c.get('requestId'),
    at,
  );
  const stored = outcome === 'already' ? await billing.finance.issued(r.key) : undefined;
  return stored ? c.json(view(stored, true), 200) : c.json(view({ ...r, at: at.toISOString() }, false), 201);
}

export function registerFinanceIssue(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(refundRoute, async (c) => {
    const tenantId = c.req.valid('param').tenant_id;
    const body = c.req.valid('json');
    const cents = wholeCents(body.amount_usd);
    const key = idempotencyKey(
      'refund',
      tenantId,
      body.payment_intent,
      cents,
      c.req.valid('header')['idempotency-key'],
    );
    const customerId = await customerOf(c, tenantId, 'payment', body.payment_intent);
    const { billing } = c.get('deps');
    const earlier = await billing.finance.issued(key);
    if (earlier) return c.json(view(earlier, true), 200);
    const got = await billing.gateway.getPayment(body.payment_intent);
    if (!got.ok) throw failed(got, 'payment', body.payment_intent, tenantId);
    const p = got.payment;
    if (p.customerId !== customerId) throw notTheTenants('payment', body.payment_intent, tenantId);
    if (p.currency !== 'usd') throw new ApiError('conflict', `The payment is in ${p.currency}, not usd.`);
    if (p.status !== 'succeeded')
      throw new ApiError('conflict', `The payment is ${p.status}: nothing to refund.`);
    const left = p.amountReceivedCents - p.refundedCents;
    if (cents > left) {
      throw new ApiError(
        'invalid_request',
        `'amount_usd' is more than is left to refund of this payment (${formatUsd(left * CENT)} of ${formatUsd(p.amountReceivedCents * CENT)}).`,
        { param: 'amount_usd' },
      );
    }
    const out = await billing.gateway.createRefund(
      {
        paymentIntentId: p.id,
        amountCents: cents,
        reason: body.reason ?? null,
        metadata: { tenant_id: tenantId },
      },
      key,
    );
    if (!out.ok) throw failed(out, 'payment', body.payment_intent, tenantId);
    return recordIssued(c, {
      key,
      objectId: out.refund.id,
      kind: 'refund',
      tenantId,
      against: p.id,
      amountCents: cents,
      reason: body.reason ?? null,
    });
  });

  app.openapi(creditNoteRoute, async (c) => {
    const tenantId = c.req.valid('param').tenant_id;
    const body = c.req.valid('json');
    const cents = wholeCents(body.amount_usd);
    const key = idempotencyKey(
      'credit-note',
      tenantId,
      body.invoice,
      cents,
      c.req.valid('header')['idempotency-key'],
    );
    const customerId = await customerOf(c, tenantId, 'invoice', body.invoice);
    const { billing } = c.get('deps');
    const earlier = await billing.finance.issued(key);
    if (earlier) return c.json(view(earlier, true), 200);
    const got = await billing.gateway.getInvoice(body.invoice);
    if (!got.ok) throw failed(got, 'invoice', body.invoice, tenantId);
    const inv = got.invoice;
    if (inv.customerId !== customerId) throw notTheTenants('invoice', body.invoice, tenantId);
    if (inv.currency !== 'usd') throw new ApiError('conflict', `The invoice is in ${inv.currency}, not usd.`);
    if (inv.status !== 'open' && inv.status !== 'paid') {
      throw new ApiError(
        'conflict',
        `The invoice is ${inv.status}: only an open or paid invoice takes a credit note.`,
      );
    }
    const left = inv.totalCents - inv.creditedCents;
    if (cents > left) {
      throw new ApiError(
        'invalid_request',
        `'amount_usd' is more than the invoice can still be credited (${formatUsd(left * CENT)} of ${formatUsd(inv.totalCents * CENT)}).`,
        { param: 'amount_usd' },
      );
    }
    const out = await billing.gateway.createCreditNote(
      {
        invoiceId: inv.id,
        amountCents: cents,
        paid: inv.status === 'paid',
        memo: body.memo ?? null,
        metadata: { tenant_id: tenantId },
      },
      key,
    );
    if (!out.ok) throw failed(out, 'invoice', body.invoice, tenantId);
    return recordIssued(c, {
      key,
      objectId: out.creditNote.id,
      kind: 'credit_note',
      tenantId,
      against: inv.id,
      amountCents: cents,
      reason: body.memo ?? null,
    });
  });
}
