import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BillingEnv } from '#api/http/env';
import { escapeHtml as esc } from '#api/http/html';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { monthOf, previewInvoice } from '#shared/billing/invoice-preview';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import type { Tenant } from '#shared/tenants/tenant-store';
import { centsToUsd } from './schemas';

/** How many months back a statement can be had (and the billing page lists). */
export const STATEMENT_MONTHS = 12;

/** The months a tenant has statements for, newest first: from its creation (at most 12 back) to now. */
export function statementMonths(tenant: Pick<Tenant, 'createdAt'>, now: Date): string[] {
  const first = tenant.createdAt.slice(0, 7);
  const out: string[] = [];
  let y = now.getUTCFullYear();
  let m = now.getUTCMonth() + 1;
  while (out.length < STATEMENT_MONTHS) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    if (month < first) break;
    out.push(month);
    m -= 1;
    if (m === 0) {
      m = 12;
      y -= 1;
    }
  }
  return out;
}

export const statementPath = (month: string) => `/account/billing/statements/${month}`;

const route = createRoute({
  method: 'get',
  path: '/account/billing/statements/{month}',
  tags: ['Billing'],
  summary: "A month's statement from the ledger, as an HTML page to keep or print",
  description:
    'Owners and billing members. What the ledger bills for the month: each model version and unit beyond the ' +
    "included units of the plan the account is on now, at the catalog's prices (batch lines on lines of their own, " +
    'at the batch price), each line rounded to the cent as ' +
    'an invoice rounds it. ' +
    "It is the document of a platform without Stripe (ledger-only); with Stripe, Stripe's invoices are the bill " +
    `and this is the ledger's side of them. The current month is so far. Months before the account existed, more than ${STATEMENT_MONTHS} ` +
    'back or not begun are 404.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  request: {
    params: z.object({
      month: z
        .string()
        .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM')
        .openapi({ example: '2026-11' }),
    }),
  },
  responses: {
    200: { description: 'The statement', content: { 'text/html': { schema: z.string() } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerStatement(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const session = userSession(c);
    const { month } = c.req.valid('param');
    const d = c.get('deps').billing;
    const now = d.now();
    const tenant = session.tenant;
    if (!statementMonths(tenant, now).includes(month)) {
      throw new ApiError(
        'not_found',
        `No statement for ${month}: statements cover the months since this account was made, at most ${STATEMENT_MONTHS} back, up to this one.`,
        { param: 'month' },
      );
    }
    const [plan, catalog] = await Promise.all([d.plans.get(tenant.plan), d.catalog()]);
    const p = await previewInvoice(
      { usage: d.usage, catalog, modelTimeoutMs: d.config.MODEL_TIMEOUT_MS },
      tenant,
      plan,
      month,
    );
    const current = month === monthOf(now.getTime());
    const rows = p.lines.map(
      (l) =>
        `<tr><td>${esc(l.description)}</td><td align="right">${l.used.toLocaleString('en-US')}</td>` +
        `<td align="right">${l.included.toLocaleString('en-US')}</td><td align="right">${l.billable.toLocaleString('en-US')}</td>` +
        `<td align="right">$${esc(formatUsd(l.unitPriceNanoUsd))}</td><td align="right">$${centsToUsd(l.amountCents)}</td></tr>`,
    );
    const html = [
      '<!doctype html><html lang="en"><head><meta charset="utf-8">',
      `<title>Statement ${esc(month)}</title></head><body>`,
      `<h1>Statement for ${esc(month)}${current ? ' (so far)' : ''}</h1>`,
      `<p>${esc(tenant.name)} (${esc(tenant.id)}), plan ${esc(plan?.name ?? tenant.plan)}. `,
      `Period ${esc(p.periodStart.slice(0, 10))} to ${esc(p.periodEnd.slice(0, 10))} (UTC, end excluded). `,
      d.gateway.mode === 'stripe'
        ? "Your bill is Stripe's invoice; this is the ledger's account of the same usage.</p>"
        : 'Billing is not connected on this platform: nothing is charged; this is what the ledger prices.</p>',
      '<table><thead><tr><th align="left">Model version and unit</th><th>Used</th><th>Included</th><th>Billed</th><th>Unit price</th><th>Amount</th></tr></thead><tbody>',
      ...(rows.length
        ? rows
        : ['<tr><td colspan="6">Nothing billed: no use beyond the included units.</td></tr>']),
      '</tbody></table>',
      `<p>Total: <strong>$${centsToUsd(p.totalCents)} USD</strong></p>`,
      '</body></html>',
    ].join('');
    return c.html(html, 200);
  });
}
