import { Worker } from 'node:worker_threads';
import { type ModelHandler, ModelInputError, type Readiness } from './model-handler';

/** Which engine a worker thread runs: an exported factory in a module, with its options. */
export type EngineSpec = { module: string; factory: string; options?: Record<string, unknown> };

export type WorkerModelOptions = {
  name: string;
  engine: EngineSpec;
  /** A call the worker has not answered by then kills and restarts it (a hung model). */
  hardTimeoutMs?: number;
  /**
   * A cancelled call (the caller hung up) the engine has not given up by then kills and replaces
   * the worker, so work nobody reads never holds the model longer than this.
   */
  cancelGraceMs?: number;
  /** Consecutive failed starts after which the model is reported `failed`. */
  maxStartFailures?: number;
  onEvent?: (event: WorkerEvent) => void;
};

export type WorkerEvent =
  | { type: 'ready'; model: string; loadMs: number; restarts: number }
  | { type: 'exit'; model: string; code: number; pending: number; reason: string }
  | { type: 'failed'; model: string; reason: string };

type Pending = {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Set once the caller hung up: the call's end then rejects as cancelled, whatever it was. */
  cancelled?: CallCancelledError;
};
type FromWorker =
  | { type: 'ready'; loadMs: number }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; input: boolean; message: string };

/** What a worker-hosted model is doing, for the runtime's `/state`. */
export type WorkerActivity = {
  /** Calls the worker holds (started and not yet answered, cancelled ones included). */
  busy: number;
  /** Calls cancelled because the caller hung up, since start. */
  cancelled: number;
  /** Workers replaced because a cancelled call did not stop in time, since start. */
  recycled: number;
  restarts: number;
};

const ENTRY = new URL('./worker-entry.ts', import.meta.url).href;
// Worker threads do not inherit tsx's loader on node 20: the shared boot file registers it first.
const BOOT = new URL('./worker-boot.mjs', import.meta.url);

/** A failure of the model process itself (the worker died), not of the caller's input. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

/** The caller hung up and the call was stopped; nobody reads this. */
export class CallCancelledError extends Error {
  override name = 'CallCancelledError';
}

/**
 * A model that runs in its own worker thread, so seconds of inference never block the runtime's
 * event loop (other endpoints, /ping). `load()` starts the thread and returns at once; the model
 * reports `loading` until the engine has loaded. A thread that dies (a crash, an out-of-memory
 * abort, a hung call past `hardTimeoutMs`) fails the calls it held and is started again with
 * backoff; after `maxStartFailures` failed starts in a row the model is `failed`.
 */
export class WorkerModel implements ModelHandler {
  readonly name: string;
  #worker: Worker | undefined;
  #state: Readiness = { state: 'loading' };
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #restarts = 0;
  #startFailures = 0;
  #closed = false;
  #startedAt = 0;
  #cancelled = 0;
  #recycled = 0;
  /** A worker being replaced after a cancelled call: calls wait for it rather than fail. */
  #recycling = false;

  constructor(private readonly options: WorkerModelOptions) {
    this.name = options.name;
  }

  readiness(): Readiness {
    // A replacement for a worker stopped on purpose is no outage: calls wait the moment it takes.
    if (this.#recycling && this.#state.state === 'loading') return { state: 'ready' };
    return this.#state;
  }

  activity(): WorkerActivity {
    return {
      busy: this.#pending.size,
      cancelled: this.#cancelled,
      recycled: this.#recycled,
      restarts: this.#restarts,
    };
  }

  get restarts(): number {
    return this.#restarts;
  }

  async load(): Promise<void> {
    if (!this.#worker && !this.#closed) this.#start();
  }

  /** Resolves once the model answers (or rejects when it failed); for callers that must wait. */
  async whenReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#state.state !== 'ready') {
      if (this.#state.state === 'failed') throw new Error(`${this.name}: ${this.#state.reason}`);
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Runs one call in the worker. `signal` aborting (the caller hung up) cancels it: the engine is
   * told to stop at its next stage; one still busy `cancelGraceMs` later is stopped by replacing
   * the worker. Either way the promise settles (CallCancelledError) only once the worker is free,
   * so the runtime's queue never starts a call beside work that is still running.
   */
  async invoke(body: Buffer, contentType: string | undefined, signal?: AbortSignal): Promise<unknown> {
    if (this.#recycling && this.#state.state === 'loading') await this.whenReady(this.#hardTimeoutMs());
    const worker = this.#worker;
    if (!worker || this.#state.state !== 'ready') {
      throw new WorkerCrashedError(`${this.name} is not loaded`);
    }
    if (signal?.aborted) throw new CallCancelledError('the caller hung up before the call started');
    const id = this.#nextId++;
    const onAbort = () => this.#cancel(worker, id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          // A call this late means the engine is stuck: only a new thread gets the model back.
          void worker.terminate();
        }, this.#hardTimeoutMs());
        timer.unref();
        this.#pending.set(id, { resolve, reject, timer });
        // The body is copied into the message; the worker gets its own buffer.
        worker.postMessage({ type: 'invoke', id, body, contentType });
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #hardTimeoutMs(): number {
    return this.options.hardTimeoutMs ?? 60_000;
  }

  #cancel(worker: Worker, id: number): void {
    const pending = this.#pending.get(id);
    if (!pending || pending.cancelled) return;
    pending.cancelled = new CallCancelledError('the caller hung up; the call was stopped');
    this.#cancelled++;
    worker.postMessage({ type: 'cancel', id });
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => {
      if (this.#worker !== worker || !this.#pending.has(id)) return;
      // Still busy: replace the worker. Its calls fail as cancelled (this one) or crashed (none
      // other: one call at a time), and the next call waits for the new worker.
      this.#recycling = true;
      this.#recycled++;
      void worker.terminate();
    }, this.options.cancelGraceMs ?? 1_000);
    pending.timer.unref();
  }

  injectCrash(): void {
    this.#worker?.postMessage({ type: 'crash-next' });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failPending('the runtime is shutting down');
    await worker?.terminate();
  }

  #start(): void {
    this.#state = { state: 'loading' };
    this.#startedAt = performance.now();
    const worker = new Worker(BOOT, {
      workerData: { entry: ENTRY, engine: this.options.engine },
      // The engine's own stdout lines (library banners) would garble the runtime's JSON log.
      stdout: true,
    });
    worker.stdout.resume();
    this.#worker = worker;
    worker.on('message', (message: FromWorker) => this.#onMessage(message));
    worker.on('error', (err) => this.#onExit(worker, 1, err.message));
    worker.on('exit', (code) => this.#onExit(worker, code, `exit code ${code}`));
  }

  #onMessage(message: FromWorker): void {
    if (message.type === 'ready') {
      this.#state = { state: 'ready' };
      this.#recycling = false;
      this.#startFailures = 0;
      this.options.onEvent?.({
        type: 'ready',
        model: this.name,
        loadMs: Math.round(performance.now() - this.#startedAt),
        restarts: this.#restarts,
      });
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (pending.cancelled) pending.reject(pending.cancelled);
    else if (message.ok) pending.resolve(message.value);
    else if (message.input) pending.reject(new ModelInputError(message.message));
    else pending.reject(new Error(message.message));
  }

  #onExit(worker: Worker, code: number, reason: string): void {
    // 'error' and 'exit' both arrive for one death; handle it once.
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const wasReady = this.#state.state === 'ready';
    this.options.onEvent?.({ type: 'exit', model: this.name, code, pending: this.#pending.size, reason });
    this.#failPending(`the ${this.name} worker died (${reason}); the call was not completed`);
    if (this.#closed) return;
    // Replaced on purpose (a cancelled call that kept running): start the new one at once.
    const recycled = this.#recycling && wasReady;
    if (!wasReady) {
      this.#startFailures++;
      this.#recycling = false;
    }
    if (this.#startFailures >= (this.options.maxStartFailures ?? 5)) {
      this.#state = { state: 'failed', reason: `could not start ${this.#startFailures} times: ${reason}` };
      this.options.onEvent?.({ type: 'failed', model: this.name, reason });
      return;
    }
    this.#state = { state: 'loading' };
    this.#restarts++;
    const backoff = recycled ? 0 : Math.min(100 * 2 ** this.#startFailures, 5_000);
    setTimeout(() => {
      if (!this.#closed) this.#start();
    }, backoff).unref();
  }

  #failPending(why: string): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(pending.cancelled ?? new WorkerCrashedError(why));
      this.#pending.delete(id);
    }
  }
}
