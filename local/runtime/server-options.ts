import type { VariantCapacity } from './registry';

/** How a runtime server is set up, and what it reports per invocation (the server and its streamed answers share them). */
export type RuntimeServerOptions = {
  /** Default per-variant capacity; an endpoint's own `capacity` wins. */
  capacity?: VariantCapacity;
  /** Batch calls (`priority=batch`) a variant runs at once unless its capacity says; default 1. */
  maxBatchInFlight?: number;
  /** Longest a queued invocation waits for a slot before it is turned away as busy. */
  maxQueueWaitMs?: number;
  maxBodyBytes?: number;
  /** Only used to make error messages and ARNs look like SageMaker's. */
  accountId?: string;
  region?: string;
  /** Called once per invocation after the answer is written. Never carries the request body. */
  onInvocation?: (entry: InvocationLogEntry) => void;
  /** Enables `POST /faults/{endpoint}/{variant}/crash` (tests make a model's worker die mid-call). */
  faults?: boolean;
  /**
   * Inference components (`<endpoint>-<variant>`) to answer as SageMaker answers one scaled to
   * zero copies: 400 ValidationError "Inference Component has no capacity ...". Read on every
   * call, so a test adds a name to make that version cold and deletes it to warm it again.
   */
  coldComponents?: ReadonlySet<string>;
  /**
   * SageMaker's inference container contract, for the one version this container hosts:
   * `POST /invocations` invokes it (streamed when the caller accepts `application/jsonlines`, as
   * SageMaker forwards InvokeEndpointWithResponseStream's Accept), answers are the model's own
   * bytes (SageMaker adds the event-stream framing itself), and a model's refusal or failure is
   * its own 400/500, which SageMaker reports as ModelError with that OriginalStatusCode.
   */
  container?: { endpointName: string; variant: string };
};

export type InvocationLogEntry = {
  requestId: string;
  endpoint: string;
  variant?: string;
  status: number;
  errorType?: string;
  /** Why it failed, in the runtime's words (never the request body). */
  detail?: string;
  durationMs: number;
};
