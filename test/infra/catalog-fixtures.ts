import type { SeedCatalog } from '../../infra/model-endpoints';
import { seedCatalog } from '../../shared/catalog/seed';
import type { ModelDefinition, ModelVersion } from '../../shared/catalog/types';

/** A catalog version with the fields the Models stack reads; the rest as a seed would set them. */
export function version(
  stage: string,
  model: string,
  id: string,
  overrides: Partial<ModelVersion> = {},
): ModelVersion {
  return {
    model,
    version: id,
    status: 'active',
    releasedAt: '2026-01-01T00:00:00.000Z',
    sunsetAt: null,
    prices: { images: 1_000_000 },
    priceBook: 'pb-test',
    endpointName: `tollgate-${stage}-${model}`,
    variant: id,
    limits: {},
    ...overrides,
  };
}

export function model(name: string, task: ModelDefinition['task'], defaultVersion: string): ModelDefinition {
  return {
    name,
    task,
    description: `${name} (test)`,
    units: task === 'chat' ? ['input_tokens', 'output_tokens'] : ['images'],
    defaultVersion,
    aliases: { latest: defaultVersion },
    status: 'active',
  };
}

/**
 * The stage's seed plus the versions being added to it in parallel (vision, OCR, chat) and the
 * proposed TGI chat version: what the catalog will look like, so the Models stack is checked
 * against it before it lands.
 */
export function extendedCatalog(stage: string): SeedCatalog {
  const seed = seedCatalog(stage);
  const have = new Set(seed.models.map((m) => m.name));
  const models = [
    model('image-moderation', 'image-moderation', 'mobilenet-v2'),
    model('ocr', 'ocr', 'ppocr-v4'),
    model('chat', 'chat', 'tiny-1'),
  ].filter((m) => !have.has(m.name));
  const versions = [
    version(stage, 'image-moderation', 'mobilenet-v2'),
    version(stage, 'image-moderation', 'mobilenet-v2-mid'),
    version(stage, 'image-moderation', 'inception-v3'),
    version(stage, 'ocr', 'ppocr-v4'),
    version(stage, 'ocr', 'tesseract-5'),
    version(stage, 'chat', 'tiny-1', { limits: { timeoutMs: 20_000 } }),
    version(stage, 'chat', 'smollm2-1-7b', { status: 'preview' }),
  ];
  const seen = new Set(seed.versions.map((v) => `${v.model}@${v.version}`));
  return {
    models: [...seed.models, ...models],
    versions: [...seed.versions, ...versions.filter((v) => !seen.has(`${v.model}@${v.version}`))],
  };
}
