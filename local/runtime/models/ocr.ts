import { createRequire } from 'node:module';
import path from 'node:path';
import Ocr from '@gutenye/ocr-node';
import { createWorker, OEM } from 'tesseract.js';
import type { Engine } from '../worker-entry';
import { WorkerModel, type WorkerModelOptions } from '../worker-model';
import { parseImageBody, toCleanPng, toPngWithin } from './image-input';

type Point = [number, number];
export type OcrLine = { text: string; confidence: number; box: [Point, Point, Point, Point] };
export type OcrAnswer = { lines: OcrLine[] };

const require = createRequire(import.meta.url);
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The most pixels PP-OCR's detection reads: larger images are scaled down to it first (boxes are
 * given back in the caller's pixels). Detection runs on the whole image and its time grows faster
 * than the pixels (here: 1 MP about 1 s, 4 MP 9 s, 16.8 MP 25 s), so this bounds what one image
 * costs. About PaddleOCR's own default (the long side at most 960) for a square page, without
 * shrinking a long receipt's text as a side limit would.
 */
export const PPOCR_MAX_PIXELS = 1024 * 1024;

/** In the worker thread: PP-OCRv4 detection + recognition (ONNX) on onnxruntime-node's CPU provider. */
export async function createPpocrEngine(): Promise<Engine> {
  const ocr = await Ocr.create({ onnxOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 } });
  return {
    async run(body, contentType, signal): Promise<OcrAnswer> {
      const { png, scaleX, scaleY } = await toPngWithin(parseImageBody(body, contentType), PPOCR_MAX_PIXELS);
      signal.throwIfAborted();
      // ocr-node's types say a path, but it hands the value to sharp, which takes bytes as well.
      const found = await ocr.detect(png as unknown as string);
      const lines: OcrLine[] = [];
      for (const line of found) {
        const text = line.text.trim();
        const box = line.box as number[][] | undefined;
        if (!text || !box || box.length !== 4) continue;
        lines.push({
          text,
          confidence: Math.min(1, Math.max(0, line.mean)),
          box: box.map(([x, y]) => [round((x ?? 0) * scaleX), round((y ?? 0) * scaleY)]) as OcrLine['box'],
        });
      }
      return { lines };
    },
  };
}

/**
 * In the worker thread: Tesseract 5 (LSTM only) with English data from the package folder.
 * Without `langPath` tesseract.js fetches from a CDN, and that failure is an uncaught exception.
 */
export async function createTesseractEngine(): Promise<Engine> {
  const langPath = path.dirname(require.resolve('@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz'));
  const worker = await createWorker('eng', OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none' });
  return {
    async run(body, contentType, signal): Promise<OcrAnswer> {
      const png = await toCleanPng(parseImageBody(body, contentType));
      signal.throwIfAborted();
      const { data } = await worker.recognize(png, {}, { blocks: true, text: false });
      const lines: OcrLine[] = [];
      for (const block of data.blocks ?? []) {
        for (const paragraph of block.paragraphs) {
          for (const line of paragraph.lines) {
            const text = line.text.trim();
            if (!text) continue;
            const { x0, y0, x1, y1 } = line.bbox;
            lines.push({
              text,
              confidence: Math.min(1, Math.max(0, line.confidence / 100)),
              box: [
                [x0, y0],
                [x1, y0],
                [x1, y1],
                [x0, y1],
              ],
            });
          }
        }
      }
      return { lines };
    },
  };
}

export function createPpocrModel(options: Partial<WorkerModelOptions> = {}): WorkerModel {
  return new WorkerModel({
    name: 'ppocr-v4',
    engine: { module: import.meta.url, factory: 'createPpocrEngine' },
    ...options,
  });
}

export function createTesseractModel(options: Partial<WorkerModelOptions> = {}): WorkerModel {
  return new WorkerModel({
    name: 'tesseract-5',
    engine: { module: import.meta.url, factory: 'createTesseractEngine' },
    ...options,
  });
}
