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
    ],
  };
}
