import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TINY_EMBEDDING_HIDDEN,
  TINY_EMBEDDING_ID,
  writeTinyEmbeddingModel,
} from '../../local/models/tiny-embedding';
import type { EmbeddingAnswer } from '../../local/runtime/models/embedding-request';
import { FeatureExtractionModel } from '../../local/runtime/models/feature-extraction';
import { countTextTokens } from '../../shared/metering/text-tokens';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

/**
 * The code that serves a pulled sentence-embedding model (all-MiniLM-L6-v2 as `embeddings@minilm-l6`),
 * run offline against the self-built model in the hub's layout: the transformers.js
 * feature-extraction pipeline in a worker thread, mean pooling, unit vectors, the billing count.
 */
describe('a sentence-embedding model from the models folder', () => {
  let root: string;
  const models: FeatureExtractionModel[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tollgate-embedding-'));
  });
  afterAll(async () => {
    await Promise.all(models.map((m) => m.close()));
    await rm(root, { recursive: true, force: true });
  });

  function model(modelId = TINY_EMBEDDING_ID) {
    const m = new FeatureExtractionModel({
      modelId,
      modelsRoot: root,
      dtype: 'fp32',
      pullHint: `Fetch them with: npm run models:pull -- ${modelId}`,
    });
    models.push(m);
    return m;
  }

  it('without its weights: not installed, naming the command; no worker starts', async () => {
    const m = model('Xenova/all-MiniLM-L6-v2');
    await m.load();
    expect(m.unavailable()).toMatch(
      /not downloaded\. Fetch them with: npm run models:pull -- Xenova\/all-MiniLM-L6-v2/,
    );
    expect(m.readiness().state).toBe('loading');
  });

  it('with them: unit vectors from real inference, in order, and the tokens the gateway bills', async () => {
    await writeTinyEmbeddingModel(root);
    const m = model();
    await m.load();
    expect(m.unavailable()).toBeUndefined();
    await m.whenReady(60_000);
    const inputs = ['Hello world', 'hello WORLD', 'something else entirely, and longer'];
    const answer = (await m.invoke(json({ inputs }), 'application/json')) as EmbeddingAnswer;
    expect(answer.dimensions).toBe(TINY_EMBEDDING_HIDDEN);
    expect(answer.data).toHaveLength(3);
    for (const v of answer.data) {
      expect(v).toHaveLength(TINY_EMBEDDING_HIDDEN);
      expect(dot(v, v)).toBeCloseTo(1, 5);
    }
    // The tokenizer lower-cases, so the first two are one text; the third is another.
    expect(dot(answer.data[0]!, answer.data[1]!)).toBeCloseTo(1, 5);
    expect(dot(answer.data[0]!, answer.data[2]!)).toBeLessThan(0.999);
    expect(answer.usage.input_tokens).toBe(inputs.reduce((sum, t) => sum + countTextTokens(t), 0));
    // Padding in a batch changes nothing: alone, a text gets the vector it got beside longer ones.
    const alone = (await m.invoke(json({ inputs: ['Hello world'] }), 'application/json')) as EmbeddingAnswer;
    alone.data[0]!.forEach((x, i) => {
      expect(x).toBeCloseTo(answer.data[0]![i]!, 5);
    });
  });

  it('refuses a body that is not {"inputs": string[]} as the model\'s own 400', async () => {
    const m = model();
    await m.load();
    await m.whenReady(60_000);
    await expect(m.invoke(json({ inputs: [' '] }), 'application/json')).rejects.toThrow(
      /inputs\[0\] must not be empty/,
    );
  });
});
