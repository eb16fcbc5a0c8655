/**
 * How each catalog version runs in AWS: instance type, what one copy reserves, copy counts and
 * container, keyed by `model@version`. Pure data beside the seed: the Models stack joins it with
 * `seedCatalog(stage)` (the seed says which endpoint a version is on and its name there; this file
 * says what hardware and image serve it), so routing and infrastructure come from one list and
 * cannot drift apart. Each version is one SageMaker inference component, named by
 * `inferenceComponentName`, on its catalog endpoint; the gateway addresses it by that name.
 *
 * Rules the infra tests hold this file to:
 * - every version in the seed has an entry here (a version nothing serves would be routed to an
 *   inference component that does not exist);
 * - every version on one endpoint names the same instance type (an endpoint has one), and one
 *   copy fits on one instance of it;
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

/** What one copy of a version reserves on its instance; SageMaker places copies where these fit. */
export interface CopyResources {
  /** Whole GPUs (NumberOfAcceleratorDevicesRequired); none for a CPU model. */
  acceleratorDevices?: number;
  /** vCPUs (NumberOfCpuCoresRequired). */
  cpuCores: number;
  /** Memory reserved for the copy (MinMemoryRequiredInMb). */
  memoryMb: number;
}

export interface ModelDeployment {
  /**
   * Instance type of the endpoint the version's inference component runs on, e.g. `ml.g6.xlarge`.
   * Every version on one endpoint names the same (an endpoint has one instance type).
   */
  instanceType: string;
  /** What one copy reserves; the endpoint's instance count follows from the copies (managed instance scaling). */
  resources: CopyResources;
  /**
   * Copies at creation and auto scaling's bounds. A `preview` version in the catalog always
   * starts at 0 copies and may scale back to 0 when idle (its first call wakes it: the caller is
   * told to retry, `model_cold`), whatever `minCopies` says here.
   */
  initialCopies: number;
  minCopies: number;
  maxCopies: number;
  /**
   * Target of `SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution`: requests in
   * flight per copy. Set it to about 70% of what one copy serves at an acceptable latency (measure).
   */
  targetConcurrentRequestsPerCopy: number;
  image: ModelImage;
  /**
   * Weights from S3, mounted at /opt/ml/model: `s3://bucket/key.tar.gz` (compressed) or
   * `s3://bucket/prefix/` (uncompressed, faster to load for large models). The execution role
   * may read exactly this object or prefix.
   */
  modelDataUrl?: string;
  /** Extra container environment (never secrets: model environments are readable via the SageMaker API). */
  environment?: Record<string, string>;
  /** How long SageMaker waits for a copy's first healthy /ping (weights load slowly). */
  startupHealthCheckTimeoutSeconds?: number;
}

/**
 * The SageMaker inference component that serves a catalog version: `<endpoint>-<variant>`
 * (`tollgate-prod-chat-smollm2-360m`). Unique in the account and region, as SageMaker requires,
 * because endpoint names are and a variant name is unique on its endpoint. The Models stack names
 * the components with it and the gateway sends it as `InferenceComponentName`, so both come from
 * the catalog's own fields.
 */
export function inferenceComponentName(version: { endpointName: string; variant: string }): string {
  return `${version.endpointName}-${version.variant}`;
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
  // wink-nlp: microseconds per word, one core per copy is plenty.
  'sentiment@v1': {
    instanceType: 'ml.c5.large',
    resources: { cpuCores: 1, memoryMb: 1_024 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 8,
    image: modelServer,
  },
  // The three classifiers share one ml.c5.xlarge (4 vCPUs, 8 GiB) at one copy each: the
  // MobileNets take about 90 ms of one core per image, InceptionV3 about 420 ms of two.
  'image-moderation@mobilenet-v2': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 1, memoryMb: 1_536 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 2,
    image: modelServer,
  },
  'image-moderation@mobilenet-v2-mid': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 1, memoryMb: 1_536 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 2,
    image: modelServer,
  },
  'image-moderation@inception-v3': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 2, memoryMb: 2_048 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 2,
    image: modelServer,
  },
  'ocr@ppocr-v4': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 2, memoryMb: 2_048 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 2,
    image: modelServer,
  },
  'ocr@tesseract-5': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 1, memoryMb: 1_024 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 2,
    image: modelServer,
  },
  // The tiny model the project builds for offline tests, on the model server's CPU path beside
  // the TGI copies of its endpoint (it takes no GPU): proves the streaming chat path in the cloud.
  // A preview version, so it starts cold and idles at zero copies.
  'chat@tiny-1': {
    instanceType: 'ml.g6.xlarge',
    resources: { cpuCores: 1, memoryMb: 1_024 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 2,
    targetConcurrentRequestsPerCopy: 4,
    image: modelServer,
  },
  // SmolLM2 360M and 135M Instruct in Hugging Face TGI, one NVIDIA L4 per copy (ml.g6.xlarge:
  // 24 GB, 4 vCPUs, 16 GiB): TGI batches requests continuously and streams tokens, which the CPU
  // transformers.js path cannot do at any useful rate (seconds per completion). L4 rather than
  // A10G (ml.g5.xlarge): the same 24 GB holds either model many times over, and the L4 instance
  // lists about a fifth cheaper per hour; the A10G's faster memory only pays for models that are
  // memory-bound at batch sizes these versions never reach. The container downloads the weights
  // from the Hub at start (about 0.3 GB and 0.7 GB, Apache-2.0, not gated). A copy takes a whole
  // GPU, so each copy is one instance; the endpoint's instances follow the copies.
  'chat@smollm2-360m': {
    instanceType: 'ml.g6.xlarge',
    resources: { acceleratorDevices: 1, cpuCores: 2, memoryMb: 6_144 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 2,
    targetConcurrentRequestsPerCopy: 16,
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
    resources: { acceleratorDevices: 1, cpuCores: 2, memoryMb: 4_096 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 2,
    targetConcurrentRequestsPerCopy: 24,
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
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 1, memoryMb: 1_024 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 8,
    image: modelServer,
  },
  // all-MiniLM-L6-v2 on onnxruntime's CPU provider; the image carries the weights
  // (`npm run models:pull -- Xenova/all-MiniLM-L6-v2` at build time). A few ms per short text.
  'embeddings@minilm-l6': {
    instanceType: 'ml.c5.xlarge',
    resources: { cpuCores: 2, memoryMb: 2_048 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 4,
    targetConcurrentRequestsPerCopy: 4,
    image: modelServer,
  },
};

/**
 * Hosting ready for versions the catalog does not offer yet. The Models stack never reads this;
 * publishing one is one change: add the version to `seedCatalog` and move its entry into
 * `modelDeployments`. (Its variant name is part of its inference component's name, a SageMaker
 * name: letters, digits and hyphens, so `smollm2-1-7b`, not `smollm2-1.7b`.)
 */
export const proposedDeployments: Record<string, ModelDeployment> = {
  // SmolLM2 1.7B Instruct (Apache-2.0, not gated: no Hub token needed) on one L4 (24 GB).
  'chat@smollm2-1-7b': {
    instanceType: 'ml.g6.xlarge',
    resources: { acceleratorDevices: 1, cpuCores: 2, memoryMb: 8_192 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 2,
    targetConcurrentRequestsPerCopy: 16,
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
