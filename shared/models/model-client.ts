/** One call to a hosted model version. */
export interface ModelInvocation {
  endpointName: string;
  variant: string;
  /** JSON-serialisable request body in the model's own contract. */
  body: unknown;
  timeoutMs: number;
  requestId: string;
}

export type ModelCallResult =
  | { ok: true; body: unknown; invokedVariant: string | undefined; latencyMs: number }
  | {
      ok: false;
      /**
       * `timeout`: no answer in time. `unavailable`: not reachable. `busy`: at capacity, try again.
       * `loading`: the version is still loading. `rejected`: the model refused the input as
       * unreadable (its own 4xx; `detail` says why). `model_error`: it failed or answered garbage.
       */
      reason: 'timeout' | 'unavailable' | 'busy' | 'loading' | 'rejected' | 'model_error';
      detail: string;
      latencyMs: number;
    };

/** The port the gateway calls models through; SageMaker in the cloud and locally alike. */
export interface ModelClient {
  invoke(call: ModelInvocation): Promise<ModelCallResult>;
}
