import { z } from '@hono/zod-openapi';
import { pickByWeight, trafficPoint, trafficSlots } from '#shared/catalog/traffic';
import type { BillingUnit, CatalogEntry, ModelTask, ModelVersion } from '#shared/catalog/types';
import { formatUsd } from '#shared/metering/pricing';
import type { TypicalLatency } from '#shared/observability/typical-latency';
import { sampleFor } from './samples';

/** Prices are quoted per million tokens and per image; nano-USD per unit times `per` is exact. */
const PER: Record<BillingUnit, number> = { input_tokens: 1_000_000, output_tokens: 1_000_000, images: 1 };

export const VersionSchema = z
  .object({
    id: z.string().openapi({ example: 'ocr@ppocr-v4' }),
    object: z.literal('model'),
    created: z.number().int().openapi({ description: 'Release time, unix seconds.' }),
    owned_by: z.string(),
    model: z.string(),
    version: z.string(),
    status: z.enum(['preview', 'active', 'deprecated', 'retired']).openapi({
      description:
        'Preview versions are callable by `@version` or alias but may change; deprecated ones have a sunset.',
    }),
    description: z.string().nullable(),
    released_at: z.string(),
    deprecated_at: z.string().nullable(),
    sunset_at: z.string().nullable(),
    replacement: z
      .string()
      .nullable()
      .openapi({ description: 'For a retired version: what to call instead.' }),
    prices: z.array(
      z.object({
        unit: z.string(),
        usd: z.string().openapi({ example: '0.100000000' }),
        per: z.number().int().openapi({ description: 'Units the price is for (1000000 tokens, 1 image).' }),
      }),
    ),
    limits: z.object({
      max_input_tokens: z.number().int().nullable(),
      max_image_bytes: z.number().int().nullable(),
      max_image_pixels: z.number().int().nullable(),
      timeout_ms: z.number().int().nullable(),
      max_inputs: z.number().int().nullable().openapi({ description: 'Most texts per request.' }),
      dimensions: z
        .number()
        .int()
        .nullable()
        .openapi({ description: 'Embeddings: the length of the vectors the version answers.' }),
      min_dimensions: z.number().int().nullable().openapi({
        description:
          'Embeddings: the shortest `dimensions` a request may ask for; null when only `dimensions` itself is accepted.',
      }),
    }),
    context_window: z.number().int().nullable().openapi({
      description:
        'Chat: the most tokens a prompt and its answer may hold together. Other text models: the most tokens one input may hold. Null for images.',
    }),
    max_output_tokens: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Chat: the largest `max_tokens` a request may ask for, and the default.' }),
    typical_latency_ms: z
      .object({
        p50: z.number().nullable(),
        p90: z.number().nullable(),
        requests: z
          .number()
          .int()
          .openapi({ description: 'Answered requests the percentiles are read from.' }),
        days: z.number().int().openapi({ description: 'Over the last this many UTC days, today included.' }),
      })
      .nullable()
      .openapi({
        description:
          "Latency of the version's answered requests, as the platform measured it at the gateway (model health). Null until it has answered any.",
      }),
    sample: z
      .object({
        method: z.literal('POST'),
        path: z.string(),
        request: z.record(z.string(), z.unknown()),
        response: z.record(z.string(), z.unknown()),
      })
      .openapi({
        description:
          "The request that calls this version, and an answer in its format, with the usage and cost this version's prices give it (the text is illustrative).",
      }),
    available: z.boolean().openapi({
      description:
        'false when what runs the version is not installed (weights not downloaded, endpoint not deployed): a call answers 503 `model_not_installed` at once, without retrying.',
    }),
    unavailable_reason: z.string().nullable().openapi({ description: 'Why it is not available.' }),
    install_command: z
      .string()
      .nullable()
      .openapi({ description: 'What an operator runs to install it, when there is such a command.' }),
  })
  .openapi('ModelVersion');

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'ocr' }),
    object: z.literal('model'),
    created: z.number().int(),
    owned_by: z.string(),
    task: z.string(),
    description: z.string(),
    billing_units: z.array(z.string()),
    default_version: z.string(),
    aliases: z.record(z.string(), z.string()),
    pinned_version: z.string().nullable().openapi({ description: "Your tenant's pin, if any." }),
    serving_version: z.string().nullable().openapi({
      description: 'The version a request naming only the model gets for your tenant right now.',
    }),
    versions: z.array(VersionSchema),
  })
  .openapi('Model');

/** The sentiment model as GET /v1/models shows it, for the examples. */
const sentimentV1 = {
  id: 'sentiment@v1',
  object: 'model',
  created: 1767225600,
  owned_by: 'tollgate',
  model: 'sentiment',
  version: 'v1',
  status: 'active',
  description: 'wink-nlp English lite model',
  released_at: '2026-01-01T00:00:00.000Z',
  deprecated_at: null,
  sunset_at: null,
  replacement: null,
  prices: [{ unit: 'input_tokens', usd: '0.100000000', per: 1_000_000 }],
  limits: {
    max_input_tokens: 8192,
    max_image_bytes: null,
    max_image_pixels: null,
    timeout_ms: 10_000,
    max_inputs: 64,
    dimensions: null,
    min_dimensions: null,
  },
  context_window: 8192,
  max_output_tokens: null,
  typical_latency_ms: { p50: 3.2, p90: 5.9, requests: 12_840, days: 7 },
  sample: sampleFor('text-sentiment', {
    model: 'sentiment',
    version: 'v1',
    status: 'active',
    releasedAt: '2026-01-01T00:00:00.000Z',
    sunsetAt: null,
    prices: { input_tokens: 100 },
    priceBook: 'pb-2026-01',
    endpointName: 'tollgate-sentiment',
    variant: 'v1',
    limits: { maxInputTokens: 8192, maxInputs: 64, timeoutMs: 10_000 },
  }),
  available: true,
  unavailable_reason: null,
  install_command: null,
} as const satisfies z.infer<typeof VersionSchema>;

export const modelExamples = {
  version: sentimentV1,
  model: {
    id: 'sentiment',
    object: 'model',
    created: 1767225600,
    owned_by: 'tollgate',
    task: 'text-sentiment',
    description: 'English sentiment (positive, negative, neutral) with negation handling; wink-nlp.',
    billing_units: ['input_tokens'],
    default_version: 'v1',
    aliases: { latest: 'v1', stable: 'v1' },
    pinned_version: null,
    serving_version: 'sentiment@v1',
    versions: [sentimentV1],
  },
} as const satisfies { version: z.infer<typeof VersionSchema>; model: z.infer<typeof ModelSchema> };

const unix = (iso: string | undefined) => Math.floor(Date.parse(iso ?? '1970-01-01T00:00:00Z') / 1000);

/** Chat's window holds the prompt and the answer; other text models' inputs are bounded one by one. */
function contextWindow(task: ModelTask, v: ModelVersion): number | null {
  const { maxInputTokens, maxOutputTokens } = v.limits;
  if (maxInputTokens === undefined) return null;
  return task === 'chat' ? maxInputTokens + (maxOutputTokens ?? 0) : maxInputTokens;
}

/** What a version's card shows beside the catalog entry: its model's task, and its measured latency. */
export interface CardContext {
  task: ModelTask;
  latency?: ReadonlyMap<string, TypicalLatency>;
}

export function presentVersion(v: ModelVersion, card: CardContext) {
  const id = `${v.model}@${v.version}`;
  const latency = card.latency?.get(id);
  return {
    id,
    object: 'model' as const,
    created: unix(v.releasedAt),
    owned_by: 'tollgate',
    model: v.model,
    version: v.version,
    status: v.status,
    description: v.description ?? null,
    released_at: v.releasedAt,
    deprecated_at: v.deprecatedAt ?? null,
    sunset_at: v.sunsetAt ?? null,
    replacement: v.replacement ?? null,
    prices: Object.entries(v.prices).map(([unit, nano]) => ({
      unit,
      usd: formatUsd((nano ?? 0) * PER[unit as BillingUnit]),
      per: PER[unit as BillingUnit],
    })),
    limits: {
      max_input_tokens: v.limits.maxInputTokens ?? null,
      max_image_bytes: v.limits.maxImageBytes ?? null,
      max_image_pixels: v.limits.maxImagePixels ?? null,
      timeout_ms: v.limits.timeoutMs ?? null,
      max_inputs: v.limits.maxInputs ?? null,
      dimensions: v.limits.dimensions ?? null,
      min_dimensions: v.limits.minDimensions ?? null,
    },
    context_window: contextWindow(card.task, v),
    max_output_tokens: v.limits.maxOutputTokens ?? null,
    typical_latency_ms: latency
      ? { p50: latency.p50, p90: latency.p90, requests: latency.requests, days: latency.days }
      : null,
    sample: sampleFor(card.task, v),
    available: !v.availability,
    unavailable_reason: v.availability?.reason ?? null,
    install_command: v.availability?.install ?? null,
  };
}

/** A model as a tenant sees it: usable (non-retired) versions, its pin, and where its traffic goes. */
export function presentModel(
  entry: CatalogEntry,
  tenantId: string,
  pins: Record<string, string>,
  latency?: ReadonlyMap<string, TypicalLatency>,
) {
  const { model } = entry;
  const versions = [...entry.versions.values()]
    .filter((v) => v.status !== 'retired')
    .sort((a, b) => a.releasedAt.localeCompare(b.releasedAt) || a.version.localeCompare(b.version));
  const pin = pins[model.name];
  const pinned = pin === undefined ? undefined : (model.aliases[pin] ?? pin);
  const serving =
    pinned ?? pickByWeight(trafficPoint(tenantId, model.name), trafficSlots(entry)) ?? model.defaultVersion;
  const servingVersion = entry.versions.get(serving);
  return {
    id: model.name,
    object: 'model' as const,
    created: unix(model.createdAt ?? versions[0]?.releasedAt),
    owned_by: 'tollgate',
    task: model.task,
    description: model.description,
    billing_units: model.units,
    default_version: model.defaultVersion,
    aliases: model.aliases,
    pinned_version: pinned ?? null,
    serving_version:
      servingVersion && servingVersion.status !== 'retired' ? `${model.name}@${serving}` : null,
    versions: versions.map((v) => presentVersion(v, { task: model.task, latency })),
  };
}
