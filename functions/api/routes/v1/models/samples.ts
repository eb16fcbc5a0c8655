import { landscapeModeration, receiptOcr } from '#api/spec/answer-examples';
import type { BillingUnit, ModelTask, ModelVersion } from '#shared/catalog/types';
import { formatUsd } from '#shared/metering/pricing';

/** A model card's sample: the exact request for this version, and an answer in its format. */
export interface VersionSample {
  method: 'POST';
  path: string;
  request: Record<string, unknown>;
  /** The answer's shape with usage and cost computed from this version's prices; its text is illustrative. */
  response: Record<string, unknown>;
}

const REQUEST_ID = 'req_01M97D1FGJZ4P1NNSPAFZTHVAW';
const CREATED = 1767225600;

/** What the sample's usage costs at this version's prices (nano-USD per unit, so exact). */
function cost(v: ModelVersion, units: Partial<Record<BillingUnit, number>>): string {
  let nano = 0;
  for (const [unit, n] of Object.entries(units) as [BillingUnit, number][]) nano += (v.prices[unit] ?? 0) * n;
  return formatUsd(nano);
}

type Builder = (id: string, v: ModelVersion) => Omit<VersionSample, 'method'>;

const builders: Record<ModelTask, Builder> = {
  chat: (id, v) => ({
    path: '/v1/chat/completions',
    request: {
      model: id,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      max_tokens: 32,
    },
    response: {
      id: REQUEST_ID,
      object: 'chat.completion',
      created: CREATED,
      model: id,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'The capital of France is Paris.' },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 14,
        completion_tokens: 7,
        total_tokens: 21,
        cost_usd: cost(v, { input_tokens: 14, output_tokens: 7 }),
      },
    },
  }),
  embeddings: (id, v) => {
    const dims = Math.min(v.limits.dimensions ?? 4, 4);
    return {
      path: '/v1/embeddings',
      request: {
        model: id,
        input: ['The cat sat on the mat.'],
        ...(v.limits.minDimensions ? { dimensions: dims } : {}),
      },
      response: {
        object: 'list',
        data: [
          { object: 'embedding', index: 0, embedding: [-0.3436, 0.4883, 0.3995, -0.6956].slice(0, dims) },
        ],
        model: id,
        usage: { prompt_tokens: 7, total_tokens: 7, cost_usd: cost(v, { input_tokens: 7 }) },
      },
    };
  },
  'text-sentiment': (id, v) => ({
    path: '/v1/text/sentiment',
    request: { model: id, input: ['I love how fast this is.'] },
    response: {
      id: REQUEST_ID,
      object: 'list',
      model: id,
      data: [{ object: 'sentiment', index: 0, label: 'positive', score: 0.37, tokens: 7 }],
      usage: { input_tokens: 7, total_tokens: 7, cost_usd: cost(v, { input_tokens: 7 }) },
    },
  }),
  'image-moderation': (id, v) => ({
    path: '/v1/images/moderations',
    request: { model: id, image: 'https://example.com/landscape.jpg' },
    response: {
      id: REQUEST_ID,
      object: 'moderation',
      model: id,
      results: [landscapeModeration],
      usage: { images: 1, cost_usd: cost(v, { images: 1 }) },
    },
  }),
  ocr: (id, v) => ({
    path: '/v1/images/ocr',
    request: { model: id, image: 'https://example.com/receipt.png' },
    response: {
      id: REQUEST_ID,
      object: 'ocr',
      model: id,
      ...receiptOcr,
      usage: { images: 1, cost_usd: cost(v, { images: 1 }) },
    },
  }),
};

/** The sample for a version of a model of this task. */
export function sampleFor(task: ModelTask, v: ModelVersion): VersionSample {
  return { method: 'POST', ...builders[task](`${v.model}@${v.version}`, v) };
}
