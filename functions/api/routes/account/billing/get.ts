import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BillingEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { billingOverview } from '#shared/billing/overview';
import { formatUsd } from '#shared/metering/pricing';
import { BillingResponse, centsToUsd } from './schemas';
import { statementMonths, statementPath } from './statement';

const route = createRoute({
  method: 'get',
  path: '/account/billing',
  tags: ['Billing'],
  summary: "Plan, billing status, this month's running cost, the invoice preview and past invoices",
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  responses: {
    200: { description: 'Billing', content: { 'application/json': { schema: BillingResponse } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerGetBilling(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const session = userSession(c);
    const o = await billingOverview(c.get('deps').billing, session.tenant);
    const p = o.preview;
    const message = !o.connected
      ? 'Billing is not connected (no Stripe key): usage is priced from the ledger and nothing is charged.'
      : o.status === 'past_due'
        ? `A payment failed. API calls keep working until ${o.graceEndsAt}; pay through the customer portal.`
        : o.status === 'suspended'
          ? 'API calls are refused until the unpaid invoice is paid (customer portal).'
          : o.invoicesUnavailable
            ? 'Stripe did not answer: past invoices are not shown.'
            : null;
    return c.json(
      {
        object: 'billing' as const,
        connected: o.connected,
        message,
        plan: {
          id: o.planId,
          name: o.plan?.name ?? o.planId,
          bills_overage: o.plan?.overage === 'bill',
          included: p.included === 'everything' ? (o.plan?.included ?? {}) : p.included,
        },
        status: o.status,
        tenant_status: session.tenant.status,
        past_due_since: o.account?.pastDueSince ?? null,
        grace_ends_at: o.graceEndsAt,
        period: { month: o.month, start: p.periodStart, end: p.periodEnd },
        running_cost: {
          total_usd: formatUsd(o.runningCost.totalNanoUsd),
          by_version: o.runningCost.byVersion.map((v) => ({
            model: v.model,
            version: v.version,
            channel: v.channel,
            requests: v.requests,
            input_tokens: v.inputTokens,
            output_tokens: v.outputTokens,
            images: v.images,
            cost_usd: formatUsd(v.costNanoUsd),
          })),
        },
        invoice_preview: {
          currency: 'usd' as const,
          lines: p.lines.map((l) => ({
            description: l.description,
            model: l.model,
            version: l.version,
            unit: l.unit,
            channel: l.channel,
            used: l.used,
            included: l.included,
            billable: l.billable,
            unit_price_usd: formatUsd(l.unitPriceNanoUsd),
            amount_usd: formatUsd(l.amountNanoUsd),
            amount_due_usd: centsToUsd(l.amountCents),
          })),
          subtotal_usd: formatUsd(p.subtotalNanoUsd),
          total_due_usd: centsToUsd(p.totalCents),
          note:
            p.included === 'everything'
              ? 'This plan stops at its included units instead of billing them: nothing is due.'
              : "Units beyond the plan's monthly included units, per model version (batch lines apart, at the batch price), at the catalog's prices; each line is rounded to the cent on the invoice.",
        },
        invoices:
          o.invoices?.map((i) => ({
            id: i.id,
            number: i.number,
            status: i.status,
            currency: i.currency,
            total: centsToUsd(i.totalCents),
            amount_due: centsToUsd(i.amountDueCents),
            period_start: i.periodStart,
            period_end: i.periodEnd,
            created_at: i.createdAt,
            hosted_invoice_url: i.hostedUrl,
            invoice_pdf: i.pdfUrl,
          })) ?? null,
        statements: statementMonths(session.tenant, c.get('deps').billing.now()).map((month) => ({
          month,
          url: statementPath(month),
        })),
      },
      200,
    );
  });
}
