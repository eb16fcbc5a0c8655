/** What a model is billed by. Prices are whole nano-USD (1e-9 USD) per unit, so costs are exact integers. */
export type BillingUnit = 'input_tokens' | 'output_tokens' | 'images';

export type ModelTask = 'text-sentiment' | 'chat' | 'image-moderation' | 'ocr' | 'embeddings';
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
  /**
   * Relative weights between versions for requests that name no version and have no pin (canary).
   * Versions not listed get no traffic; no positive weight at all means everything goes to
   * `defaultVersion`.
   */
  traffic?: Record<string, number>;
  /** Bumped by every operator change; writes are conditional on it, so concurrent edits never interleave. */
  revision?: number;
  createdAt?: string;
}

/** Bounds the gateway enforces before a model is called. */
export interface VersionLimits {
  maxInputTokens?: number;
  maxInputs?: number;
  timeoutMs?: number;
  /** Chat: the largest `max_tokens` a request may ask for (and the default when it asks for none). */
  maxOutputTokens?: number;
  /** Largest decoded image, in bytes. */
  maxImageBytes?: number;
  /** Largest width x height an image header may declare (refuses decompression bombs unread). */
  maxImagePixels?: number;
  /** Embeddings: the length of the vectors the version answers. */
  dimensions?: number;
  /**
   * Embeddings: the smallest `dimensions` a request may ask for (the vector is cut to it and
   * scaled back to unit length). Absent: the version answers only its own length.
   */
  minDimensions?: number;
}

export interface ModelVersion {
  model: string;
  version: string;
  status: VersionStatus;
  releasedAt: string;
  /** When a deprecated version stops answering (the `Sunset` header). */
  sunsetAt: string | null;
  /** When it was deprecated (the `Deprecation` header). */
  deprecatedAt?: string | null;
  /** For a retired version: the version callers should move to. */
  replacement?: string | null;
  /** What runs it, in words (`nsfwjs MobileNetV2`). */
  description?: string;
  /** nano-USD per unit; e.g. $0.10 per 1M tokens is 100. */
  prices: Partial<Record<BillingUnit, number>>;
  /**
   * nano-USD per unit for batch lines, set by operators; absent: half the online prices (rounded
   * down to a whole nano-USD), as `batchPrices` reads it.
   */
  batchPrices?: Partial<Record<BillingUnit, number>> | null;
  /** Stamped on every usage record, so a later price change never rewrites history. */
  priceBook: string;
  /** Where it runs: the SageMaker endpoint and its production variant. */
  endpointName: string;
  variant: string;
  limits: VersionLimits;
  /**
   * Set while the version cannot answer because what runs it is not installed (weights not
   * downloaded, endpoint not deployed); absent when it is. Written by whatever installs models
   * (locally `npm start`, from the runtime's own report), never by an operator's catalog change.
   */
  availability?: VersionAvailability | null;
}

/** Why a version cannot answer, and the command that installs it. */
export interface VersionAvailability {
  state: 'not_installed';
  reason: string;
  /** The command that installs it, when there is one. */
  install?: string;
}

export interface CatalogEntry {
  model: ModelDefinition;
  versions: Map<string, ModelVersion>;
}

export interface Catalog {
  models: Map<string, CatalogEntry>;
}

/** Where a resolver reads the catalog from (the DynamoDB store, or a fixed catalog in unit tests). */
export interface CatalogSource {
  load(): Promise<Catalog>;
}
