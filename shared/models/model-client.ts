/** Why a model call failed before it answered (see `ModelCallResult`). */
export type FailureReason =
  | 'timeout'
  | 'unavailable'
  | 'busy'
  | 'loading'
  | 'not_installed'
  | 'cold'
  | 'rejected'
  | 'model_error';

/** One call to a hosted model version. */
export interface ModelInvocation {
  endpointName: string;
  variant: string;
  /** JSON-serialisable request body in the model's own contract. */
  body: unknown;
  timeoutMs: number;
  requestId: string;
  /**
   * The calling tenant, sent as `tenant=<id>` in SageMaker's CustomAttributes: the model server
   * queues each version's calls fairly between tenants.
   */
  tenantId?: string;
  /**
   * `batch` for a line of a batch job, sent as `priority=batch` in the CustomAttributes (beside
   * `tenant=<id>`): the model server serves every waiting online call first and runs only a few
   * batch calls at once, so batch work never raises online latency. Absent: an online call.
   */
  priority?: 'batch';
  /** Aborts the call (its caller went away): the HTTP request is cancelled, so is the model's work. */
  signal?: AbortSignal;
}

export type ModelCallResult =
  | { ok: true; body: unknown; invokedVariant: string | undefined; latencyMs: number }
  | {
      ok: false;
      /**
       * `timeout`: no answer in time. `unavailable`: not reachable. `busy`: at capacity, try again.
       * `loading`: the version is (re)loading its model, try again shortly. `not_installed`: the
       * endpoint or variant does not exist, or its weights are not installed: retrying cannot help.
       * `cold`: the version has no copy running (scaled to zero); the call started one, retry
       * once it is up. `model_error`: it
       * answered with an error or garbage. `rejected`: the model refused the request as invalid (its
       * own 400: a prompt longer than its context, an image that does not decode); `detail` is the
       * model's message.
       */
      reason: FailureReason;
      detail: string;
      latencyMs: number;
    };

/** The port the gateway calls models through; SageMaker in the cloud and locally alike. */
export interface ModelClient {
  invoke(call: ModelInvocation): Promise<ModelCallResult>;
  /** Streamed answers; resolves once the first part arrived or the call failed. */
  invokeStream(call: ModelStreamInvocation): Promise<ModelStreamResult>;
}

/** A streamed call: the gateway may abort it (its client went away) through `signal`. */
export interface ModelStreamInvocation extends ModelInvocation {}

export type ModelStreamResult =
  | {
      ok: true;
      /**
       * The answer's bytes as the model sends them (part boundaries carry no meaning). Iteration
       * throws `ModelStreamFailure` when the model fails, stalls or the call is aborted mid-stream.
       */
      stream: AsyncIterable<Uint8Array>;
      invokedVariant: string | undefined;
      /** Time to the first part. */
      latencyMs: number;
    }
  | {
      ok: false;
      reason: FailureReason;
      detail: string;
      latencyMs: number;
    };

/**
 * Why a stream that had started ended early. `rejected`: the model refused the request as invalid
 * inside a stream that had already opened (TGI reports a prompt that is too long as an error event
 * in a 200 stream, before any token): the caller's 400, as `rejected` of an unstreamed call.
 */
export class ModelStreamFailure extends Error {
  override name = 'ModelStreamFailure';
  constructor(
    readonly reason: 'timeout' | 'model_error' | 'aborted' | 'rejected',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
