import type { Catalog, CatalogSource, ModelDefinition, ModelVersion } from '../../shared/catalog/types';

/** A version of model `m` with the fields routing cares about; the rest are plausible defaults. */
export function version(model: string, id: string, over: Partial<ModelVersion> = {}): ModelVersion {
  return {
    model,
    version: id,
    status: 'active',
    releasedAt: '2026-01-01T00:00:00.000Z',
    sunsetAt: null,
    prices: { input_tokens: 100 },
    priceBook: 'pb-test',
    endpointName: `endpoint-${model}`,
    variant: id,
    limits: {},
    ...over,
  };
}

export function model(name: string, over: Partial<ModelDefinition> = {}): ModelDefinition {
  return {
    name,
    task: 'text-sentiment',
    description: 'test',
    units: ['input_tokens'],
    defaultVersion: 'v1',
    aliases: {},
    status: 'active',
    ...over,
  };
}

/** A catalog source over fixed data, for resolver tests without a store. */
export function fixedCatalog(entries: { model: ModelDefinition; versions: ModelVersion[] }[]): CatalogSource {
  const catalog: Catalog = { models: new Map() };
  for (const e of entries) {
    catalog.models.set(e.model.name, {
      model: e.model,
      versions: new Map(e.versions.map((v) => [v.version, v])),
    });
  }
  return { load: async () => catalog };
}
