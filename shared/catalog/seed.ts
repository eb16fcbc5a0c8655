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
      {
        name: 'chat',
        task: 'chat',
        description:
          'OpenAI-compatible chat completions through transformers.js. tiny-1 is the test model the project builds itself (random weights: the text is gibberish, the tokens and streaming are real); smollm2-135m serves HuggingFaceTB/SmolLM2-135M-Instruct once `npm run models:pull` has fetched it.',
        units: ['input_tokens', 'output_tokens'],
        defaultVersion: 'tiny-1',
        aliases: { latest: 'tiny-1' },
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
      {
        model: 'chat',
        version: 'tiny-1',
        // A test model: callable by version, never behind `stable`.
        status: 'preview',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        prices: { input_tokens: 50, output_tokens: 150 }, // $0.05 / $0.15 per 1M tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('chat'),
        variant: 'tiny-1',
        limits: { maxInputTokens: 1_536, maxOutputTokens: 512, timeoutMs: 30_000 },
      },
      {
        model: 'chat',
        version: 'smollm2-135m',
        status: 'preview',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        prices: { input_tokens: 100, output_tokens: 300 }, // $0.10 / $0.30 per 1M tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('chat'),
        variant: 'smollm2-135m',
        limits: { maxInputTokens: 6_144, maxOutputTokens: 2_048, timeoutMs: 60_000 },
      },
    ],
  };
}
