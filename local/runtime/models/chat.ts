import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ModelHandler, ModelInputError, ModelNotInstalledError, type Readiness } from '../model-handler';
import type {
  ChatAnswer,
  ChatRequest,
  ChatStreamLine,
  FromWorker,
  ToWorker,
  WorkerConfig,
} from './chat-protocol';
import { parseChatRequest } from './chat-request';

const BOOT = new URL('../worker-boot.mjs', import.meta.url);
const WORKER = new URL('./chat-worker.ts', import.meta.url);
/** A worker that dies again within this long after a restart waits this long before the next one. */
const RESTART_BACKOFF_MS = 1_000;

export type ChatModelOptions = {
  /** Folder name under `modelsRoot` (a Hugging Face id such as `HuggingFaceTB/SmolLM2-135M-Instruct`). */
  modelId: string;
  modelsRoot: string;
  /** Which ONNX file: `fp32` is `onnx/model.onnx`, `q8` is `onnx/model_quantized.onnx`, ... */
  dtype?: string;
  /** Runs before loading, e.g. to build the test model when it is missing. */
  prepare?: () => Promise<void>;
  /**
   * A model whose folder may be absent (weights pulled only when online): the runtime starts
   * without it and calls answer "not installed", naming the command that fetches it. Once the
   * folder appears (a download renames it into place whole) the model loads on the next call or
   * `/ping`, and answers "loading" meanwhile.
   */
  optional?: { pullHint: string };
  /** ONNX intra-op threads per generation step; 1 suits small models on small machines. */
  threads?: number;
  /** The worker module (tests substitute one that can be made to crash). */
  workerEntry?: URL;
};

type Pending = {
  stream: boolean;
  onDelta: (line: ChatStreamLine) => void;
  resolve: (answer: ChatAnswer) => void;
  reject: (error: Error) => void;
};

/**
 * Chat through transformers.js text generation in a worker thread. A worker that crashes fails the
 * generations it was running (the caller gets a ModelError or ModelStreamError) and is restarted.
 */
export function createChatModel(options: ChatModelOptions): ModelHandler & { restarts(): number } {
  const config: WorkerConfig = {
    modelsRoot: options.modelsRoot,
    modelId: options.modelId,
    dtype: options.dtype ?? 'fp32',
    threads: options.threads ?? Math.max(1, Math.min(2, availableParallelism() - 1)),
  };
  let worker: Worker | null = null;
  let ready: Promise<Worker> | null = null;
  let unavailable: string | null = null;
  let checkedAt = 0;
  let state: Readiness = { state: 'ready' };
  let closed = false;
  let restarts = 0;
  let lastStart = 0;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  function start(): Promise<Worker> {
    lastStart = Date.now();
    const w = new Worker(BOOT, {
      execArgv: [],
      workerData: { ...config, entry: (options.workerEntry ?? WORKER).href },
    });
    worker = w;
    const started = new Promise<Worker>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') resolve(w);
        else if (message.type === 'load_failed')
          reject(new Error(`chat model ${options.modelId}: ${message.message}`));
        else dispatch(message);
      };
      w.on('message', onMessage);
      w.once('error', (error) => reject(error));
      w.once('exit', (code) => {
        reject(new Error(`chat worker exited during load (code ${code})`));
        onExit(w, code);
      });
    });
    ready = started;
    return started;
  }

  function onExit(w: Worker, code: number): void {
    if (worker !== w) return;
    worker = null;
    ready = null;
    for (const [id, job] of pending) {
      pending.delete(id);
      job.reject(new Error(`the model worker exited unexpectedly (code ${code}); it is being restarted`));
    }
    if (closed) return;
    restarts++;
    // Restart eagerly so the next caller does not pay the load, but never in a tight loop.
    const wait = Math.max(0, RESTART_BACKOFF_MS - (Date.now() - lastStart));
    setTimeout(() => {
      if (!closed && !worker) start().catch(() => {});
    }, wait).unref();
  }

  function dispatch(message: FromWorker): void {
    if (message.type === 'ready' || message.type === 'load_failed') return;
    const job = pending.get(message.id);
    if (!job) return;
    if (message.type === 'delta') {
      job.onDelta({ delta: message.delta, usage: message.usage });
      return;
    }
    pending.delete(message.id);
    if (message.type === 'done') {
      job.resolve({ text: message.text, finish_reason: message.finish_reason, usage: message.usage });
    } else {
      job.reject(message.input ? new ModelInputError(message.message) : new Error(message.message));
    }
  }

  async function run(
    request: ChatRequest,
    stream: boolean,
    onDelta: Pending['onDelta'],
    signal?: AbortSignal,
  ): Promise<ChatAnswer> {
    const why = missing();
    if (why) throw new ModelNotInstalledError(why);
    const w = await (ready ?? start());
    signal?.throwIfAborted();
    const id = nextId++;
    return new Promise<ChatAnswer>((resolve, reject) => {
      pending.set(id, { stream, onDelta, resolve, reject });
      w.postMessage({ type: 'generate', id, request, stream } satisfies ToWorker);
      signal?.addEventListener(
        'abort',
        () => {
          if (!pending.delete(id)) return;
          w.postMessage({ type: 'abort', id } satisfies ToWorker);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  const encoder = new TextEncoder();
  const onnxFile = config.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx';
  const installed = () =>
    existsSync(join(options.modelsRoot, options.modelId, 'config.json')) &&
    existsSync(join(options.modelsRoot, options.modelId, 'onnx', onnxFile));

  /** Why it cannot serve; looks for the weights again at most once a second while they are missing. */
  function missing(): string | undefined {
    if (!unavailable) return undefined;
    if (Date.now() - checkedAt < 1_000) return unavailable;
    checkedAt = Date.now();
    if (!installed()) return unavailable;
    unavailable = null;
    state = { state: 'loading' };
    start().then(
      () => {
        state = { state: 'ready' };
      },
      (error: Error) => {
        state = { state: 'failed', reason: error.message };
      },
    );
    return undefined;
  }

  return {
    name: `chat:${options.modelId}`,
    restarts: () => restarts,
    unavailable: missing,
    readiness: () => state,
    async load() {
      if (options.optional && !installed()) {
        unavailable = `the weights of ${options.modelId} are not downloaded. ${options.optional.pullHint}`;
        checkedAt = Date.now();
        return;
      }
      await options.prepare?.();
      await start();
    },
    async invoke(body, contentType, signal) {
      return run(parseChatRequest(body, contentType), false, () => {}, signal);
    },
    async *invokeStream(body, contentType, signal) {
      const request = parseChatRequest(body, contentType);
      // Deltas arrive from the worker as events; hand them to the consumer through a small queue.
      const queue: ChatStreamLine[] = [];
      let wake: (() => void) | null = null;
      let settled = false;
      let failure: Error | null = null;
      const done = run(
        request,
        true,
        (line) => {
          queue.push(line);
          wake?.();
        },
        signal,
      ).then(
        (answer) => {
          queue.push({ finish_reason: answer.finish_reason, usage: answer.usage });
          settled = true;
          wake?.();
        },
        (error: Error) => {
          failure = error;
          settled = true;
          wake?.();
        },
      );
      while (true) {
        const line = queue.shift();
        if (line) {
          yield encoder.encode(`${JSON.stringify(line)}\n`);
          continue;
        }
        if (settled) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      await done;
      if (failure) throw failure;
    },
    async close() {
      closed = true;
      await worker?.terminate();
    },
  };
}
