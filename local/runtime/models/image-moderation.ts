import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as nsfwjs from 'nsfwjs';
import type { Engine } from '../worker-entry';
import { WorkerModel, type WorkerModelOptions } from '../worker-model';
import { decodeWith, parseImageBody } from './image-input';

export type NsfwModelName = 'MobileNetV2' | 'MobileNetV2Mid' | 'InceptionV3';
export type ModerationScores = {
  drawing: number;
  hentai: number;
  neutral: number;
  porn: number;
  sexy: number;
};

const INPUT_SIZE: Record<NsfwModelName, number> = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };
const require = createRequire(import.meta.url);

/**
 * In the worker thread: nsfwjs on the tfjs wasm backend (tfjs-node would need libtensorflow; the
 * pure-JS cpu backend is 17-28x slower). The image is decoded and resized to the model's input size
 * by sharp, so a large photo costs the model nothing extra.
 */
export async function createModerationEngine(options: { model?: NsfwModelName }): Promise<Engine> {
  const name = options.model ?? 'MobileNetV2';
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(`${wasmDir}${path.sep}`);
  // One thread per model: the runtime runs one worker per model version on a 2-core machine.
  setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const model = await nsfwjs.load(name);
  const size = INPUT_SIZE[name];
  return {
    async run(body, contentType, signal): Promise<{ scores: ModerationScores }> {
      const bytes = parseImageBody(body, contentType);
      const pixels = await decodeWith(bytes, (img) =>
        img.rotate().removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer(),
      );
      signal.throwIfAborted();
      const input = tf.tensor3d(new Int32Array(pixels), [size, size, 3], 'int32');
      try {
        const predictions = await model.classify(input, 5);
        const scores: ModerationScores = { drawing: 0, hentai: 0, neutral: 0, porn: 0, sexy: 0 };
        for (const p of predictions)
          scores[p.className.toLowerCase() as keyof ModerationScores] = p.probability;
        return { scores };
      } finally {
        input.dispose();
      }
    },
  };
}

/** The runtime's handler for one nsfwjs version: the engine above in its own worker thread. */
export function createImageModerationModel(
  model: NsfwModelName,
  options: Partial<WorkerModelOptions> = {},
): WorkerModel {
  return new WorkerModel({
    name: `nsfwjs-${model}`,
    engine: { module: import.meta.url, factory: 'createModerationEngine', options: { model } },
    ...options,
  });
}
