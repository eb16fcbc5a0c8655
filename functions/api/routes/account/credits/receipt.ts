import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { centsUsd } from '#api/console/credit-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { escapeHtml as esc } from '#api/http/html';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';

const route = createRoute({
  method: 'get',
  path: '/account/credits/grants/{grant_id}/receipt',
  tags: ['Billing'],
  summary: 'The receipt of a paid credit grant, as an HTML page to keep or print',
  description:
    "Owners and billing members. Every `paid` grant has one: credit bought through Stripe (its receipt also links Stripe's " +
    'own), and paid credit an operator granted (ledger-only platforms). Promotional and trial credit, and another ' +
    "account's grants, are 404.",
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  request: {
    params: z.object({
      grant_id: z.string().min(1).max(200).openapi({ example: 'crg_01M885NG1ACXMCH87B3XRQVEKV' }),
    }),
  },
  responses: {
    200: { description: 'The receipt', content: { 'text/html': { schema: z.string() } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerCreditReceipt(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const session = userSession(c);
    const { grant_id: grantId } = c.req.valid('param');
    const grant = await c.get('deps').quotas.credits.getGrant(session.tenantId, grantId);
    if (grant?.kind !== 'paid') {
      throw new ApiError('not_found', `No paid credit grant '${grantId}' on this account.`, {
        param: 'grant_id',
      });
    }
    const p = grant.payment;
    const rows: [string, string][] = [
      ['Receipt number', grant.id],
      ['Account', `${session.tenant.name} (${session.tenant.id})`],
      ['Date', (p?.paidAt ?? grant.createdAt).slice(0, 10)],
      ['Item', 'Tollgate credit (prepaid, paid)'],
      ['Amount', p ? `$${centsUsd(p.amountCents)} USD` : `$${formatUsd(grant.amountNanoUsd)} USD`],
      [
        'Paid by',
        p
          ? `${p.card ? `${p.card.brand} card ending ${p.card.last4}` : 'card'} (Stripe payment ${p.paymentId})`
          : `Granted by the platform operator (${grant.grantedBy})`,
      ],
      ['Credit expires', grant.expiresAt.slice(0, 10)],
      ...(grant.note ? ([['Note', grant.note]] as [string, string][]) : []),
    ];
    const html = [
      '<!doctype html><html lang="en"><head><meta charset="utf-8">',
      `<title>Receipt ${esc(grant.id)}</title></head><body>`,
      '<h1>Receipt</h1><table>',
      ...rows.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`),
      '</table>',
      p?.receiptUrl ? `<p><a href="${esc(p.receiptUrl)}">Stripe's receipt of this charge</a></p>` : '',
      '</body></html>',
    ].join('');
    return c.html(html, 200);
  });
}
