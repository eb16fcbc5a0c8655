import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { PlanSchema, planView } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses } from '#api/spec/answers';
import type { Plan } from '#shared/quotas/plans';
import { modelExamples, presentVersion, VersionSchema } from '../v1/models/present';

const PublicModel = z
  .object({
    id: z.string().openapi({ example: 'sentiment' }),
    task: z.string(),
    description: z.string(),
    billing_units: z.array(z.string()),
    default_version: z.string(),
    versions: z.array(VersionSchema),
  })
  .openapi('PublicModel');

const Pricing = z
  .object({
    object: z.literal('pricing'),
    currency: z.literal('usd'),
    plans: z.array(PlanSchema),
    models: z.array(PublicModel),
  })
  .openapi('Pricing');

const { version } = modelExamples;
const example = {
  object: 'pricing',
  currency: 'usd',
  plans: [
    {
      id: 'free',
      object: 'plan',
      name: 'Free',
      overage: 'hard_stop',
      included: { input_tokens: 1_000_000, output_tokens: 200_000, images: 500 },
      requests_per_minute: 60,
      tokens_per_minute: 40_000,
      max_concurrent: 4,
      spend_cap_usd: null,
      trial_usd: '5.000000000',
      trial_days: 30,
      self_serve: true,
    },
  ],
  models: [
    {
      id: 'sentiment',
      task: 'text-sentiment',
      description: 'English sentiment (positive, negative, neutral) with negation handling; wink-nlp.',
      billing_units: ['input_tokens'],
      default_version: 'v1',
      versions: [version],
    },
  ],
} as const satisfies z.infer<typeof Pricing>;

const route = createRoute({
  method: 'get',
  path: '/public/pricing',
  tags: ['Models'],
  summary: 'Plans and model prices, for anyone (no key, no login)',
  description:
    "What the console's public pricing page shows: each plan's included units and limits, and each model's versions with their cards (prices, context window, max output, typical latency and a sample request). Preview versions are listed with status `preview`; retired ones are left out. Cacheable for a minute.",
  responses: {
    200: {
      description: 'The plans and the model catalog',
      content: { 'application/json': { schema: Pricing, example } },
    },
    ...errorResponses('public', []),
  },
});

/** Free plans first, then by request rate (the plan people grow into comes next). */
const planOrder = (a: Plan, b: Plan) =>
  Number(a.overage === 'bill') - Number(b.overage === 'bill') ||
  (a.requestsPerMinute ?? Number.MAX_SAFE_INTEGER) - (b.requestsPerMinute ?? Number.MAX_SAFE_INTEGER) ||
  a.id.localeCompare(b.id);

export function registerPublicPricing(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const [catalog, plans, latency] = await Promise.all([
      deps.resolver.catalog(),
      deps.plans.all(),
      deps.typicalLatency.byVersion(),
    ]);
    const models = [...catalog.models.values()]
      .filter((e) => e.model.status === 'active')
      .sort((a, b) => a.model.name.localeCompare(b.model.name))
      .map(({ model, versions }) => ({
        id: model.name,
        task: model.task,
        description: model.description,
        billing_units: model.units,
        default_version: model.defaultVersion,
        versions: [...versions.values()]
          .filter((v) => v.status !== 'retired')
          .sort((a, b) => a.releasedAt.localeCompare(b.releasedAt) || a.version.localeCompare(b.version))
          .map((v) => presentVersion(v, { task: model.task, latency })),
      }));
    c.header('cache-control', 'public, max-age=60');
    return c.json(
      {
        object: 'pricing' as const,
        currency: 'usd' as const,
        plans: [...plans.values()].sort(planOrder).map(planView),
        models,
      },
      200,
    );
  });
}
