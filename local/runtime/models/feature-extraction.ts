import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../worker-entry';
import { WorkerModel, type WorkerModelOptions } from '../worker-model';
import { billedTokens, type EmbeddingAnswer, parseEmbeddingRequest } from './embedding-request';

export type FeatureExtractionOptions = {
  /** Folder under `modelsRoot` (a hub id such as `Xenova/all-MiniLM-L6-v2`). */
  modelId: string;
  modelsRoot: string;
  /** `fp32` is `onnx/model.onnx`, `q8` is `onnx/model_quantized.onnx`. */
  dtype?: string;
};

const ONNX_FILE: Record<string, string> = { fp32: 'model.onnx', q8: 'model_quantized.onnx' };

/** True when the folder holds what transformers.js loads for this dtype. */
export async function featureExtractionInstalled(options: FeatureExtractionOptions): Promise<boolean> {
  const dir = join(options.modelsRoot, options.modelId);
  const files = [
    'config.json',
    'tokenizer.json',
    join('onnx', ONNX_FILE[options.dtype ?? 'fp32'] ?? 'model.onnx'),
  ];
  return Promise.all(files.map((f) => access(join(dir, f)))).then(
    () => true,
    () => false,
  );
}

/**
 * In the worker thread: a mean-pooled sentence-embedding model (all-MiniLM-L6-v2 and its kin)
 * through transformers.js' `feature-extraction` pipeline from the local models folder only (remote
 * downloads off), mean-pooled over the tokens and normalised, as sentence-transformers does.
 */
export async function createFeatureExtractionEngine(options: FeatureExtractionOptions): Promise<Engine> {
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${options.modelsRoot}/`;
  const extractor = await pipeline('feature-extraction', options.modelId, {
    dtype: (options.dtype ?? 'fp32') as 'fp32',
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  return {
    async run(body, contentType): Promise<EmbeddingAnswer> {
      const { inputs } = parseEmbeddingRequest(body, contentType);
      const output = await extractor(inputs, { pooling: 'mean', normalize: true });
      const data = output.tolist() as number[][];
      return { data, dimensions: data[0]?.length ?? 0, usage: { input_tokens: billedTokens(inputs) } };
    },
  };
}

/**
 * A sentence-embedding model whose weights may not be pulled: without them no worker starts and
 * the version reports itself not installed, naming `pullHint` (weights pulled later are served
 * from the runtime's next start); with them it loads in a worker thread.
 */
export class FeatureExtractionModel extends WorkerModel {
  #missing: string | undefined;

  constructor(
    private readonly model: FeatureExtractionOptions & { pullHint: string },
    options: Partial<WorkerModelOptions> = {},
  ) {
    const engine = { modelId: model.modelId, modelsRoot: model.modelsRoot, dtype: model.dtype ?? 'fp32' };
    super({
      name: model.modelId,
      engine: { module: import.meta.url, factory: 'createFeatureExtractionEngine', options: engine },
      ...options,
    });
  }

  override async load(): Promise<void> {
    if (!(await featureExtractionInstalled(this.model))) {
      this.#missing = `the weights of ${this.model.modelId} are not downloaded. ${this.model.pullHint}`;
      return;
    }
    this.#missing = undefined;
    await super.load();
  }

  unavailable(): string | undefined {
    return this.#missing;
  }
}
