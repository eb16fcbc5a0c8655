import type { ModelDefinition, ModelVersion } from './types';

/**
 * The catalog a new stage starts with. The local runtime hosts exactly these endpoints and
 * variants, and the cloud's model stack will be built from the same list, so routing and
 * infrastructure cannot drift apart. Operators change prices and traffic afterwards through the API.
 */
export function seedCatalog(stage: string): { models: ModelDefinition[]; versions: ModelVersion[] } {
  const endpoint = (model: string) => `tollgate-${stage}-${model}`;
  return {
    models: [
      {
        name: 'sentiment',
        task: 'text-sentiment',
        description: 'English sentiment (positive, negative, neutral) with negation handling; wink-nlp.',
        units: ['input_tokens'],
        defaultVersion: 'v1',
        aliases: { latest: 'v1', stable: 'v1' },
        status: 'active',
      },
    ],
    versions: [
      {
        model: 'sentiment',
        version: 'v1',
        status: 'active',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        prices: { input_tokens: 100 }, // $0.10 per 1M input tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('sentiment'),
        variant: 'v1',
        limits: { maxInputTokens: 8_192, maxInputs: 64, timeoutMs: 10_000 },
      },
    ],
  };
}
