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
      /** `timeout`: no answer in time. `unavailable`: not reachable or busy. `model_error`: it answered with an error or garbage. */
      reason: 'timeout' | 'unavailable' | 'model_error';
      detail: string;
      latencyMs: number;
    };

/** The port the gateway calls models through; SageMaker in the cloud and locally alike. */
export interface ModelClient {
  invoke(call: ModelInvocation): Promise<ModelCallResult>;
}
