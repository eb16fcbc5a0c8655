import { z } from '@hono/zod-openapi';
import type { ModelPin } from '#shared/catalog/pin-store';
import type { Catalog } from '#shared/catalog/types';

export const PinSchema = z
  .object({
    object: z.literal('model.pin'),
    model: z.string().openapi({ example: 'ocr' }),
    version: z.string().openapi({ example: 'tesseract-5', description: 'A version id or an alias.' }),
    resolves_to: z.string().nullable().openapi({
      example: 'ocr@tesseract-5',
      description: 'The version requests get; null when the pinned version no longer exists.',
    }),
    status: z
      .string()
      .nullable()
      .openapi({ description: "That version's status (a retired one refuses calls)." }),
    updated_at: z.string(),
  })
  .openapi('ModelPin');

export const PinParams = z.object({
  model: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'model', in: 'path' }, example: 'ocr' }),
});

export function presentPin(pin: ModelPin, catalog: Catalog) {
  const entry = catalog.models.get(pin.model);
  const id = entry ? (entry.model.aliases[pin.version] ?? pin.version) : undefined;
  const version = id === undefined ? undefined : entry?.versions.get(id);
  return {
    object: 'model.pin' as const,
    model: pin.model,
    version: pin.version,
    resolves_to: version ? `${pin.model}@${version.version}` : null,
    status: version?.status ?? null,
    updated_at: pin.updatedAt,
  };
}
