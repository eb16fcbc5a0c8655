import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { PlanSchema, planView } from '#api/console/limits-schemas';
import type { BillingEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { changePlan } from '#shared/billing/plan-change';
import { ApiError } from '#shared/errors';
import { isSelfServe, type Plan } from '#shared/quotas/plans';
import { providerError } from './schemas';

const ChangePlanRequest = z
  .object({
    plan: z.string().min(1, 'must name a plan').max(64).openapi({ example: 'payg' }),
  })
  .strict()
  .openapi('ChangePlanRequest');

const PlanChange = z
  .object({
    object: z.literal('plan_change'),
    status: z.enum(['applied', 'checkout_required']).openapi({
      description:
        '`applied`: the account is on `plan` now, its limits apply from the next request. `checkout_required`: send the browser to `url`; the plan applies when the payment completes.',
    }),
    plan: z.string().openapi({ description: 'The plan asked for.' }),
    previous_plan: z.string(),
    subscription_ends_at_period_end: z.boolean().openapi({
      description:
        "A move to Free with a Stripe subscription: the subscription ends at the month's end, invoicing the usage billed before the move.",
    }),
    url: z.string().nullable().openapi({ description: 'The Stripe Checkout page, when one is needed.' }),
    message: z.string(),
  })
  .openapi('PlanChange');

const changeRoute = createRoute({
  method: 'post',
  path: '/account/billing/plan',
  tags: ['Billing'],
  summary: 'Change plan: at once (ledger-only, or a Stripe subscription updated), or through Stripe Checkout',
  description:
    'Owners and billing members. Only self-serve plans (see `GET /account/billing/plans`). Without Stripe the change ' +
    'applies at once. With Stripe, moving from Free to a paid plan answers 202 with a Checkout `url` (the plan applies ' +
    "when Stripe reports the payment); between paid plans the subscription is updated and the change applies at once; moving to Free ends the subscription at the month's end " +
    "(the month's usage billed up to the move is invoiced then; nothing after it is billed) and Free's limits apply at once. Audited (`tenant.plan`).",
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: ChangePlanRequest } } } },
  responses: {
    200: { description: 'Applied', content: { 'application/json': { schema: PlanChange } } },
    202: {
      description: 'Pay at Stripe Checkout first: send the browser to `url`',
      content: { 'application/json': { schema: PlanChange } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'conflict',
      'tenant_inactive',
      'billing_unavailable',
    ]),
  },
});

const PlanOption = PlanSchema.extend({
  current: z.boolean(),
  price_basis: z.string().openapi({
    example:
      "No monthly fee. Past the included units, usage is billed per model version at the catalog's prices, up to the spend cap.",
  }),
}).openapi('PlanOption');

const PlanOptions = z
  .object({
    object: z.literal('list'),
    current_plan: z.string(),
    connected: z.boolean().openapi({ description: 'Whether paid plans go through Stripe here.' }),
    subscription: z
      .object({
        plan: z.string().nullable(),
        ends_at_period_end: z.boolean(),
      })
      .nullable()
      .openapi({ description: 'The live Stripe subscription, if any.' }),
    data: z.array(PlanOption),
  })
  .openapi('PlanOptions');

const listRoute = createRoute({
  method: 'get',
  path: '/account/billing/plans',
  tags: ['Billing'],
  summary: 'The plans an owner may choose, compared, with the current one marked',
  description:
    'The self-serve plans and the current plan (which may be one an operator set): price basis, included units, limits and what happens past the included units.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  responses: {
    200: { description: 'The plans', content: { 'application/json': { schema: PlanOptions } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

/** What a plan costs, in a sentence. */
export function priceBasis(p: Plan): string {
  if (p.overage === 'hard_stop') {
    return 'Free: no card needed. Requests past the included units are refused until the next month.';
  }
  return `No monthly fee. Past the included units, usage is billed per model version at the catalog's prices${p.spendCapNanoUsd === undefined ? '' : ', up to the spend cap (which you may lower)'}.`;
}

/** Free first, then by request rate. */
const order = (a: Plan, b: Plan) =>
  Number(a.overage === 'bill') - Number(b.overage === 'bill') ||
  (a.requestsPerMinute ?? Number.MAX_SAFE_INTEGER) - (b.requestsPerMinute ?? Number.MAX_SAFE_INTEGER) ||
  a.id.localeCompare(b.id);

export function registerPlanChange(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(listRoute, async (c) => {
    const d = c.get('deps').billing;
    const { tenant } = userSession(c);
    const [plans, account] = await Promise.all([d.plans.all(), d.store.getAccount(tenant.id)]);
    const live = account?.subscriptionId && account.status !== 'canceled' ? account : null;
    return c.json(
      {
        object: 'list' as const,
        current_plan: tenant.plan,
        connected: d.gateway.mode === 'stripe',
        subscription: live ? { plan: live.plan, ends_at_period_end: live.cancelAtPeriodEnd } : null,
        data: [...plans.values()]
          .filter((p) => isSelfServe(p) || p.id === tenant.plan)
          .sort(order)
          .map((p) => ({ ...planView(p), current: p.id === tenant.plan, price_basis: priceBasis(p) })),
      },
      200,
    );
  });

  app.openapi(changeRoute, async (c) => {
    const session = userSession(c);
    const { plan } = c.req.valid('json');
    const d = c.get('deps').billing;
    const result = await changePlan(d, {
      tenant: session.tenant,
      planId: plan,
      actor: { kind: 'user', id: session.userId, email: session.member.email },
      requestId: c.get('requestId'),
    });
    switch (result.status) {
      case 'applied': {
        const name = (await d.plans.get(result.to))?.name ?? result.to;
        return c.json(
          {
            object: 'plan_change' as const,
            status: 'applied' as const,
            plan: result.to,
            previous_plan: result.from,
            subscription_ends_at_period_end: result.endsAtPeriodEnd,
            url: null,
            message: result.endsAtPeriodEnd
              ? `You are on ${name} now. Your Stripe subscription ends at the end of the month, with a last invoice for the usage billed before this change.`
              : `You are on ${name} now: its limits apply from your next request.`,
          },
          200,
        );
      }
      case 'checkout':
        return c.json(
          {
            object: 'plan_change' as const,
            status: 'checkout_required' as const,
            plan: result.to,
            previous_plan: result.from,
            subscription_ends_at_period_end: false,
            url: result.url,
            message: 'Add a card at Stripe Checkout; the plan applies as soon as Stripe confirms it.',
          },
          202,
        );
      case 'unknown_plan':
        throw new ApiError('invalid_request', `No plan '${plan}'; GET /account/billing/plans lists them.`, {
          param: 'plan',
        });
      case 'not_self_serve':
        throw new ApiError(
          'invalid_request',
          `Plan '${plan}' is not self-serve: ask your platform operator for it.`,
          { param: 'plan' },
        );
      case 'current_plan':
        throw new ApiError('conflict', `This account is on plan '${plan}' already.`, { param: 'plan' });
      case 'current_not_self_serve':
        throw new ApiError(
          'conflict',
          `Your plan (${result.planName}) was set by your platform operator: ask them to change it.`,
          { param: 'plan' },
        );
      case 'tenant_inactive':
        throw new ApiError(
          'tenant_inactive',
          'This account is suspended: pay the unpaid invoice in the billing portal (or ask your operator) before changing plan.',
        );
      case 'changed_meanwhile':
        throw new ApiError('conflict', 'Your billing changed meanwhile; reload and try again.', {
          param: 'plan',
        });
      case 'not_set_up':
        c.get('log').error(
          { missing: result.missing.slice(0, 10) },
          'Stripe prices missing: run billing:setup',
        );
        throw new ApiError('billing_unavailable', 'Billing is being set up; try again later.', {
          headers: { 'retry-after': '300' },
        });
      case 'failed':
        throw providerError(result);
    }
  });
}
