import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ConsoleEnv } from '#api/http/env';
import { operatorSession } from '#api/middleware/require-role';
import { batchPrices } from '#shared/catalog/batch-prices';
import type { AdminFailure, AdminResult, ChangeBy } from '#shared/catalog/catalog-admin';
import type { CatalogEntry, ModelVersion } from '#shared/catalog/types';
import { ApiError } from '#shared/errors';

const Units = z.enum(['input_tokens', 'output_tokens', 'images']);

/** Prices in whole nano-USD per unit: $0.10 per 1M tokens is 100, $0.0005 per image is 500000. */
export const PricesNano = z
  .partialRecord(Units, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
  .openapi({ example: { images: 500_000 }, description: 'nano-USD (1e-9 USD) per unit.' });

export const LimitsInput = z
  .object({
    max_input_tokens: z.number().int().positive(),
    max_inputs: z.number().int().positive(),
    max_image_bytes: z.number().int().positive(),
    max_image_pixels: z.number().int().positive(),
    timeout_ms: z.number().int().min(100).max(900_000),
  })
  .partial();

export const VersionInput = z.object({
  version: z.string().min(1).max(64),
  status: z.enum(['preview', 'active']).default('preview'),
  description: z.string().max(500).optional(),
  endpoint_name: z.string().min(1).max(63),
  variant: z.string().min(1).max(63),
  prices_nano_usd: PricesNano,
  limits: LimitsInput.default({}),
  released_at: z.iso.datetime().optional(),
});

export const ModelParams = z.object({
  model: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'model', in: 'path' }, example: 'ocr' }),
});
export const VersionParams = ModelParams.extend({
  version: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'version', in: 'path' }, example: 'ppocr-v4' }),
});

export const AdminModelSchema = z
  .object({
    name: z.string(),
    task: z.string(),
    description: z.string(),
    units: z.array(z.string()),
    status: z.string(),
    default_version: z.string(),
    aliases: z.record(z.string(), z.string()),
    traffic: z.record(z.string(), z.number()),
    revision: z.number().int(),
    versions: z.array(
      z.object({
        version: z.string(),
        status: z.string(),
        released_at: z.string(),
        deprecated_at: z.string().nullable(),
        sunset_at: z.string().nullable(),
        replacement: z.string().nullable(),
        prices_nano_usd: z.record(z.string(), z.number()),
        batch_prices_nano_usd: z.record(z.string(), z.number()).openapi({
          description:
            "What a batch line costs per unit: the operator's batch prices, else half the online ones.",
        }),
        batch_prices_default: z
          .boolean()
          .openapi({ description: 'Whether the batch prices are the default (half the online ones).' }),
        price_book: z.string(),
        endpoint_name: z.string(),
        variant: z.string(),
      }),
    ),
  })
  .openapi('AdminModel');

export function presentAdminModel(entry: CatalogEntry) {
  const { model } = entry;
  return {
    name: model.name,
    task: model.task,
    description: model.description,
    units: model.units,
    status: model.status,
    default_version: model.defaultVersion,
    aliases: model.aliases,
    traffic: model.traffic ?? {},
    revision: model.revision ?? 0,
    versions: [...entry.versions.values()]
      .sort((a, b) => a.releasedAt.localeCompare(b.releasedAt) || a.version.localeCompare(b.version))
      .map((v) => ({
        version: v.version,
        status: v.status,
        released_at: v.releasedAt,
        deprecated_at: v.deprecatedAt ?? null,
        sunset_at: v.sunsetAt ?? null,
        replacement: v.replacement ?? null,
        prices_nano_usd: v.prices as Record<string, number>,
        batch_prices_nano_usd: batchPrices(v) as Record<string, number>,
        batch_prices_default: !v.batchPrices,
        price_book: v.priceBook,
        endpoint_name: v.endpointName,
        variant: v.variant,
      })),
  };
}

/** The version an operator described, in the catalog's own shape. */
export function toVersion(model: string, input: z.infer<typeof VersionInput>, now: Date): ModelVersion {
  const l = input.limits;
  return {
    model,
    version: input.version,
    status: input.status,
    releasedAt: input.released_at ?? now.toISOString(),
    sunsetAt: null,
    ...(input.description !== undefined ? { description: input.description } : {}),
    prices: input.prices_nano_usd,
    priceBook: `pb-${now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}`,
    endpointName: input.endpoint_name,
    variant: input.variant,
    limits: {
      ...(l.max_input_tokens !== undefined ? { maxInputTokens: l.max_input_tokens } : {}),
      ...(l.max_inputs !== undefined ? { maxInputs: l.max_inputs } : {}),
      ...(l.max_image_bytes !== undefined ? { maxImageBytes: l.max_image_bytes } : {}),
      ...(l.max_image_pixels !== undefined ? { maxImagePixels: l.max_image_pixels } : {}),
      ...(l.timeout_ms !== undefined ? { timeoutMs: l.timeout_ms } : {}),
    },
  };
}

/** The admin service's refusals as API errors (404, 409, 400), naming the field. */
export function unwrap(result: AdminResult): CatalogEntry {
  if (result.ok) return result.entry;
  const f: AdminFailure = result;
  const code =
    f.reason === 'not_found' ? 'not_found' : f.reason === 'conflict' ? 'conflict' : 'invalid_request';
  throw new ApiError(code, f.message, { param: f.param ?? null });
}

/** The signed-in operator and this request, as the audit entry records them. */
export function changeBy(c: Context<ConsoleEnv>): ChangeBy {
  const session = operatorSession(c);
  return {
    actor: { kind: 'operator', id: session.operatorId, email: session.email },
    requestId: c.get('requestId'),
  };
}
