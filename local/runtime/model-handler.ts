/** Where a hosted model is in its life: answering, (re)loading, or given up on. */
export type Readiness = { state: 'ready' } | { state: 'loading' } | { state: 'failed'; reason: string };

/**
 * A model hosted by the runtime. `invoke` gets the raw request body and returns a JSON-serialisable
 * answer. Throw `ModelInputError` for a body the model cannot accept (the caller sees a 424
 * ModelError with OriginalStatusCode 400); any other throw is a model failure (OriginalStatusCode 500).
 * `signal` aborts when the caller hangs up, so a model can stop spending CPU on an answer nobody reads.
 * Models that load slowly start loading in `load()` and report `readiness()` until they answer;
 * while not ready the runtime answers 429 ModelNotReadyException without calling `invoke`.
 */
export type ModelHandler = {
  name: string;
  load(): Promise<void>;
  invoke(body: Buffer, contentType: string | undefined, signal?: AbortSignal): Promise<unknown>;
  /**
   * Streaming models only (`InvokeEndpointWithResponseStream`): the answer's parts as they are
   * produced, each sent as one `PayloadPart` event. Errors thrown before the first part are HTTP
   * errors like `invoke`'s; later ones become a `ModelStreamError` frame.
   */
  invokeStream?(
    body: Buffer,
    contentType: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array>;
  /** Release workers and files (tests, shutdown). */
  close?(): Promise<void>;
  /** Why a loaded handler cannot serve (e.g. weights not pulled); undefined when it can. */
  unavailable?(): string | undefined;
  /**
   * Models that load in the background (worker threads) report their state: while `loading` the
   * runtime answers 429 ModelNotReadyException without calling `invoke`; `/ping` waits for them.
   */
  readiness?(): Readiness;
  /** Fault injection for tests (only reachable when the runtime runs with RUNTIME_FAULTS=1). */
  injectCrash?(): void;
  /** Counters of the model's own work (calls it holds, cancelled, recycled), for the runtime's `/state`. */
  activity?(): Record<string, number>;
};

/** The request body is not something the model accepts (the model's own "400"). */
export class ModelInputError extends Error {
  override name = 'ModelInputError';
}

/**
 * What runs the model is not installed (its weights are not downloaded): no retry helps until
 * someone installs it. Answered as SageMaker answers a variant that is not deployed (400
 * ValidationError), with the install command in the message.
 */
export class ModelNotInstalledError extends Error {
  override name = 'ModelNotInstalledError';
}

/** The model is not loaded (its weights are missing or it is restarting): SageMaker's 429 ModelNotReadyException. */
export class ModelNotReadyError extends Error {
  override name = 'ModelNotReadyError';
}

/**
 * The container's own error answer, status and body as they are: what a container other than the
 * model server says (TGI refuses a prompt that is too long with 422 and
 * `{"error": "Input validation error: ...", "error_type": "validation"}`). SageMaker wraps it as a
 * 424 ModelError with `OriginalStatusCode` and `OriginalMessage` (the body).
 */
export class ModelStatusError extends Error {
  override name = 'ModelStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(body);
  }
}
