/**
 * How each catalog version runs in AWS: instance type, capacity and container, keyed by
 * `model@version`. Pure data beside the seed: the Models stack joins it with `seedCatalog(stage)`
 * (the seed says which endpoint and variant a version is; this file says what hardware and image
 * serve it), so routing and infrastructure come from one list and cannot drift apart.
 *
 * Rules the infra tests hold this file to:
 * - every version in the seed has an entry here (a version nothing serves would be routed to an
 *   endpoint variant that does not exist);
 * - an entry for a model the seed has must match one of its versions (a typo or a removed
 *   version fails, instead of lingering as dead config). Entries for a model the seed does not
 *   have yet are allowed and unused, so a model's catalog entry and its hosting can land apart.
 */

/** Where the serving container comes from. */
export type ModelImage =
  | {
      /**
       * Hugging Face Text Generation Inference, the AWS Deep Learning Container
       * `huggingface-pytorch-tgi-inference` (region-specific ECR). Streams tokens, batches
       * continuously; answers OpenAI-style chat on /invocations (MESSAGES_API_ENABLED).
       */
      kind: 'hf-tgi';
      /** Hub model id the container downloads at start; omit when `modelDataUrl` holds the weights. */
      hfModelId?: string;
      /** DLC tag; default `defaultImageTags['hf-tgi']`. */
      imageTag?: string;
      /** GPUs to shard the model over (SM_NUM_GPUS): the instance type's GPU count. */
      numGpus: number;
      /** Longest prompt, and prompt + completion, in tokens (TGI's MAX_INPUT_TOKENS, MAX_TOTAL_TOKENS). */
      maxInputTokens: number;
      maxTotalTokens: number;
    }
  | {
      /** The Hugging Face inference toolkit DLC `huggingface-pytorch-inference` (pipelines by task). */
      kind: 'hf-inference';
      hfModelId?: string;
      /** Pipeline task (HF_TASK), e.g. `image-classification`. */
      hfTask: string;
      imageTag?: string;
    }
  | {
      /**
       * The project's own model server: the same handlers the local runtime serves, behind the
       * SageMaker container contract (GET /ping, POST /invocations on :8080, streaming answers
       * chunked). One image for every version; `TOLLGATE_MODEL_VERSION` picks the handler. The
       * image comes from the stage config (`models.modelServerImage`) unless `imageUri` names
       * another ECR image.
       */
      kind: 'model-server';
      imageUri?: string;
    };

export interface ModelDeployment {
  /** SageMaker hosting instance type, e.g. `ml.g5.xlarge`. */
  instanceType: string;
  initialInstanceCount: number;
  /** Application Auto Scaling bounds for the variant (SageMaker real-time variants cannot go below 1). */
  minCapacity: number;
  maxCapacity: number;
  /**
   * Target of `SageMakerVariantInvocationsPerInstance`: invocations per instance per MINUTE.
   * Set it to about 70% of what one instance sustains at an acceptable latency (measure it).
   */
  targetInvocationsPerInstance: number;
  image: ModelImage;
  /**
   * Weights from S3, mounted at /opt/ml/model: `s3://bucket/key.tar.gz` (compressed) or
   * `s3://bucket/prefix/` (uncompressed, faster to load for large models). The execution role
   * may read exactly this object or prefix.
   */
  modelDataUrl?: string;
  /** Extra container environment (never secrets: model environments are readable via the SageMaker API). */
  environment?: Record<string, string>;
  /** How long SageMaker waits for the container's first healthy /ping (weights load slowly). */
  startupHealthCheckTimeoutSeconds?: number;
}

/** DLC tags used when an entry names none (pinned: a moving tag would change a version's behaviour). */
export const defaultImageTags = {
  'hf-tgi': '2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04',
  'hf-inference': '2.1.0-transformers4.37.0-gpu-py310-cu118-ubuntu20.04',
} as const;

const modelServer: ModelImage = { kind: 'model-server' };

/**
 * Versions served by the project's model server run CPU backends (wink-nlp; tfjs on its wasm
 * backend; onnxruntime's CPU provider; tesseract's wasm), so they sit on compute-optimised CPU
 * instances: a GPU instance would idle its GPU at three to four times the price. A version moves
 * to a GPU type here once its server uses the GPU. The SmolLM2 chat versions run TGI on a GPU.
 * Throughput targets are starting points: measure with the model's real traffic and adjust.
 */
export const modelDeployments: Record<string, ModelDeployment> = {
  'sentiment@v1': {
    instanceType: 'ml.c5.large',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 1_500,
    image: modelServer,
  },
  'image-moderation@mobilenet-v2': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 600,
    image: modelServer,
  },
  'image-moderation@mobilenet-v2-mid': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 450,
    image: modelServer,
  },
  'image-moderation@inception-v3': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 150,
    image: modelServer,
  },
  'ocr@ppocr-v4': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 60,
    image: modelServer,
  },
  'ocr@tesseract-5': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 30,
    image: modelServer,
  },
  // The tiny model the project builds for offline tests: proves the streaming chat path in the
  // cloud on the cheapest instance; real chat traffic belongs on a TGI version.
  'chat@tiny-1': {
    instanceType: 'ml.c5.large',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 2,
    targetInvocationsPerInstance: 300,
    image: modelServer,
  },
  // SmolLM2 360M and 135M Instruct in Hugging Face TGI on one NVIDIA L4 (ml.g6.xlarge: 24 GB,
  // 4 vCPUs, 16 GiB): TGI batches requests continuously and streams tokens, which the CPU
  // transformers.js path cannot do at any useful rate (seconds per completion). L4 rather than
  // A10G (ml.g5.xlarge): the same 24 GB holds either model many times over, and the L4 instance
  // lists about a fifth cheaper per hour; the A10G's faster memory only pays for models that are
  // memory-bound at batch sizes these versions never reach. The container downloads the weights
  // from the Hub at start (about 0.3 GB and 0.7 GB, Apache-2.0, not gated).
  'chat@smollm2-360m': {
    instanceType: 'ml.g6.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 2,
    targetInvocationsPerInstance: 120,
    image: {
      kind: 'hf-tgi',
      hfModelId: 'HuggingFaceTB/SmolLM2-360M-Instruct',
      numGpus: 1,
      maxInputTokens: 6_144,
      maxTotalTokens: 8_192,
    },
    startupHealthCheckTimeoutSeconds: 600,
  },
  'chat@smollm2-135m': {
    instanceType: 'ml.g6.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 2,
    targetInvocationsPerInstance: 180,
    image: {
      kind: 'hf-tgi',
      hfModelId: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      numGpus: 1,
      maxInputTokens: 6_144,
      maxTotalTokens: 8_192,
    },
    startupHealthCheckTimeoutSeconds: 600,
  },
  // Word-vector lookups: microseconds per word on one core, 40 MB of vectors in memory.
  'embeddings@wink-100d': {
    instanceType: 'ml.c5.large',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 1_500,
    image: modelServer,
  },
  // all-MiniLM-L6-v2 on onnxruntime's CPU provider; the image carries the weights
  // (`npm run models:pull -- Xenova/all-MiniLM-L6-v2` at build time). A few ms per short text.
  'embeddings@minilm-l6': {
    instanceType: 'ml.c5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 4,
    targetInvocationsPerInstance: 600,
    image: modelServer,
  },
};

/**
 * Hosting ready for versions the catalog does not offer yet. The Models stack never reads this;
 * publishing one is one change: add the version to `seedCatalog` and move its entry into
 * `modelDeployments`. (Its variant name must be a SageMaker variant name: letters, digits and
 * hyphens, so `smollm2-1-7b`, not `smollm2-1.7b`.)
 */
export const proposedDeployments: Record<string, ModelDeployment> = {
  // SmolLM2 1.7B Instruct (Apache-2.0, not gated: no Hub token needed) on one A10G (24 GB).
  'chat@smollm2-1-7b': {
    instanceType: 'ml.g5.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 2,
    targetInvocationsPerInstance: 120,
    image: {
      kind: 'hf-tgi',
      hfModelId: 'HuggingFaceTB/SmolLM2-1.7B-Instruct',
      numGpus: 1,
      maxInputTokens: 6_144,
      maxTotalTokens: 8_192,
    },
    // The container downloads about 3.4 GB of weights before its first /ping.
    startupHealthCheckTimeoutSeconds: 900,
  },
};
