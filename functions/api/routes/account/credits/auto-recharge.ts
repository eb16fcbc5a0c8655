import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { AutoRechargeSchema, autoRechargeView, CentsInput, toCents } from '#api/console/credit-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';

const ThresholdInput = z
  .union([z.number(), z.string()])
  .superRefine((v, ctx) => {
    const s = typeof v === 'number' ? String(v) : v.trim();
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (!/^-?\d+(\.\d+)?$/.test(s)) return fail('must be an amount of USD, e.g. "5.00"');
    if (s.startsWith('-') || /^0+(\.0+)?$/.test(s)) return fail('must be above 0');
    if ((s.split('.')[1] ?? '').length > 2) return fail('must have at most 2 decimal places (whole cents)');
    if (toCents(s) > 500_000) return fail('must be at most 5000.00');
  })
  .openapi({
    example: '5.00',
    description: 'US dollars, at most 2 decimal places, above 0 and at most 5000.00.',
  });

const AutoRechargeRequest = z
  .object({
    enabled: z.boolean(),
    threshold_usd: ThresholdInput.optional(),
    amount_usd: CentsInput.optional(),
    max_per_day: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(10, 'must be at most 10')
      .optional()
      .openapi({ description: 'At most this many recharges per UTC day (1 to 10).' }),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.enabled) return;
    for (const k of ['threshold_usd', 'amount_usd', 'max_per_day'] as const) {
      if (b[k] === undefined)
        ctx.addIssue({ code: 'custom', path: [k], message: 'is required to turn auto-recharge on' });
    }
  })
  .openapi('AutoRechargeRequest');

const route = createRoute({
  method: 'put',
  path: '/account/credits/auto-recharge',
  tags: ['Billing'],
  summary:
    'Auto-recharge: top up by a set amount, with the saved card, when the balance falls below a threshold',
  description:
    'Owners and billing members. Turning it on takes `threshold_usd`, `amount_usd` (5.00 to 5000.00) and ' +
    '`max_per_day` (1 to 10), and a card saved by a top-up with `save_card` (else 409 `conflict`). The balance is ' +
    'checked by the billing job about once a minute, never on the request path. A declined recharge turns ' +
    'auto-recharge off, emails the account, and shows in `last_attempt` until it is turned on again.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: AutoRechargeRequest } } } },
  responses: {
    200: {
      description: 'The auto-recharge settings after the change',
      content: { 'application/json': { schema: AutoRechargeSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'conflict']),
  },
});

export function registerAutoRecharge(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const deps = c.get('deps');
    const { topUps } = deps.quotas.credits;
    const now = deps.now();
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await topUps.autoRecharge(session.tenantId);
      if (body.enabled && !current.card) {
        throw new ApiError(
          'conflict',
          'Auto-recharge charges a saved card, and this account has none: top up once with "save_card": true first.',
        );
      }
      const next = {
        enabled: body.enabled,
        thresholdNanoUsd:
          body.threshold_usd !== undefined
            ? toCents(body.threshold_usd) * 10_000_000
            : current.thresholdNanoUsd,
        amountCents: body.amount_usd !== undefined ? toCents(body.amount_usd) : current.amountCents,
        maxPerDay: body.max_per_day ?? current.maxPerDay,
      };
      const audit = deps.accounts.audit.entry(
        {
          actor: { kind: 'user', id: session.userId, email: session.member.email },
          action: 'tenant.auto_recharge',
          target: { type: 'tenant', id: session.tenantId, tenantId: session.tenantId },
          before: {
            enabled: current.enabled,
            thresholdNanoUsd: current.thresholdNanoUsd,
            amountCents: current.amountCents,
            maxPerDay: current.maxPerDay,
          },
          after: next,
          requestId: c.get('requestId'),
        },
        now,
      );
      if (await topUps.write([topUps.settingsItem(current, next, now), deps.accounts.audit.putItem(audit)])) {
        return c.json(autoRechargeView(await topUps.autoRecharge(session.tenantId), now), 200);
      }
    }
    throw new ApiError('conflict', 'The auto-recharge settings changed meanwhile; read them and try again.');
  });
}
