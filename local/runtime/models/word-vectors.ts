import { modelsDir } from '../../models/paths';
import { ensureWordVectors, loadWordVectors, type WordVectors } from '../../models/word-vectors';
import type { Engine } from '../worker-entry';
import { WorkerModel, type WorkerModelOptions } from '../worker-model';
import { billedTokens, type EmbeddingAnswer, normalize, parseEmbeddingRequest } from './embedding-request';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Smooth inverse frequency (Arora et al. 2017): a word's weight is a / (a + p(word)), with p from
 * its frequency rank by Zipf's law, so "the" and "of" barely move the mean and rare words lead.
 */
function weightOf(rank: number, size: number): number {
  const a = 1e-3;
  const p = 1 / ((rank + 1) * (Math.log(size) + 0.5772));
  return a / (a + p);
}

/** A word outside the vocabulary gets a fixed direction of its own (FNV-1a seeded), so equal words still match. */
function unknownVector(word: string, dimensions: number): Float32Array {
  let seed = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) seed = Math.imul(seed ^ word.charCodeAt(i), 0x01000193) >>> 0;
  const v = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    v[i] = seed / 0x1_0000_0000 - 0.5;
  }
  return v;
}

/**
 * A text's embedding: the weighted mean of its words' vectors (lower-cased; punctuation carries no
 * meaning here), scaled to unit length.
 */
export function embedText(model: WordVectors, text: string): number[] {
  const { dimensions, index, vectors } = model;
  const sum = new Float32Array(dimensions);
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    const rank = index.get(word);
    if (rank === undefined) {
      const v = unknownVector(word, dimensions);
      for (let d = 0; d < dimensions; d++) sum[d]! += v[d]!;
      continue;
    }
    const w = weightOf(rank, index.size);
    const offset = rank * dimensions;
    for (let d = 0; d < dimensions; d++) sum[d]! += w * vectors[offset + d]!;
  }
  return normalize(sum);
}

/** In the worker thread: the compact vectors (built from the package on first use), then one batch per call. */
export async function createWordVectorEngine(options: { modelsRoot?: string }): Promise<Engine> {
  const model = await loadWordVectors(await ensureWordVectors(options.modelsRoot));
  return {
    async run(body, contentType): Promise<EmbeddingAnswer> {
      const { inputs } = parseEmbeddingRequest(body, contentType);
      return {
        data: inputs.map((text) => embedText(model, text)),
        dimensions: model.dimensions,
        usage: { input_tokens: billedTokens(inputs) },
      };
    },
  };
}

/** Word-vector embeddings in a worker thread, so the first start's one-time conversion blocks nothing. */
export function createWordVectorModel(options: Partial<WorkerModelOptions> = {}): WorkerModel {
  return new WorkerModel({
    name: 'word-vectors-100d',
    engine: {
      module: import.meta.url,
      factory: 'createWordVectorEngine',
      options: { modelsRoot: modelsDir() },
    },
    ...options,
  });
}
