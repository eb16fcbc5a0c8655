/** What a model is billed by. Prices are whole nano-USD (1e-9 USD) per unit, so costs are exact integers. */
export type BillingUnit = 'input_tokens' | 'output_tokens' | 'images';

export type ModelTask = 'text-sentiment' | 'chat' | 'image-moderation' | 'ocr';
export type VersionStatus = 'preview' | 'active' | 'deprecated' | 'retired';

export interface ModelDefinition {
  name: string;
  task: ModelTask;
  description: string;
  units: BillingUnit[];
  defaultVersion: string;
  /** `latest`, `stable` and free-form names, each pointing at a version id. */
  aliases: Record<string, string>;
  status: 'active' | 'disabled';
}

export interface ModelVersion {
  model: string;
  version: string;
  status: VersionStatus;
  releasedAt: string;
  sunsetAt: string | null;
  /** nano-USD per unit; e.g. $0.10 per 1M tokens is 100. */
  prices: Partial<Record<BillingUnit, number>>;
  /** Stamped on every usage record, so a later price change never rewrites history. */
  priceBook: string;
  /** Where it runs: the SageMaker endpoint and its production variant. */
  endpointName: string;
  variant: string;
  limits: {
    maxInputTokens?: number;
    maxInputs?: number;
    timeoutMs?: number;
    /** Chat: the largest `max_tokens` a request may ask for (and the default when it asks for none). */
    maxOutputTokens?: number;
  };
}

export interface Catalog {
  models: Map<string, { model: ModelDefinition; versions: Map<string, ModelVersion> }>;
}
