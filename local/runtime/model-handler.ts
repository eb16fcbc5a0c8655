/** Where a hosted model is in its life: answering, (re)loading, or given up on. */
export type Readiness = { state: 'ready' } | { state: 'loading' } | { state: 'failed'; reason: string };

/**
 * A model hosted by the runtime. `invoke` gets the raw request body and returns a JSON-serialisable
 * answer. Throw `ModelInputError` for a body the model cannot accept (the caller sees a 424
 * ModelError with OriginalStatusCode 400); any other throw is a model failure (OriginalStatusCode 500).
 * Models that load slowly start loading in `load()` and report `readiness()` until they answer;
 * while not ready the runtime answers 429 ModelNotReadyException without calling `invoke`.
 */
export type ModelHandler = {
  name: string;
  load(): Promise<void>;
  invoke(body: Buffer, contentType: string | undefined): Promise<unknown>;
  readiness?(): Readiness;
  /** Stops background work (worker threads) so the process can exit. */
  close?(): Promise<void>;
  /** Fault injection for tests (only reachable when the runtime runs with RUNTIME_FAULTS=1). */
  injectCrash?(): void;
};

/** The request body is not something the model accepts (the model's own "400"). */
export class ModelInputError extends Error {
  override name = 'ModelInputError';
}
