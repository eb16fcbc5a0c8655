import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import {
  type ModelCallResult,
  type ModelClient,
  type ModelInvocation,
  ModelStreamFailure,
  type ModelStreamInvocation,
  type ModelStreamResult,
} from './model-client';

export interface SageMakerOptions {
  region: string;
  /** Endpoint override: the local model runtime. Unset in the cloud. */
  endpoint?: string;
}

const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET']);

type Failure = Extract<ModelCallResult, { ok: false }>;

/** Maps an SDK failure to the port's reasons. */
function classify(err: unknown, timedOut: boolean, timeoutMs: number, latencyMs: number): Failure {
  const e = err as Error & {
    code?: string;
    $metadata?: unknown;
    OriginalStatusCode?: number;
    OriginalMessage?: string;
  };
  if (timedOut)
    return { ok: false, reason: 'timeout', detail: `no answer within ${timeoutMs} ms`, latencyMs };
  // At capacity, or (re)loading its model: both pass, so the caller is told to retry.
  if (e.name === 'ServiceUnavailable') return { ok: false, reason: 'busy', detail: e.name, latencyMs };
  if (e.name === 'ModelNotReadyException') {
    return { ok: false, reason: 'loading', detail: `${e.name}: ${e.message}`, latencyMs };
  }
  if (UNAVAILABLE.has(e.name) || (e.code && UNAVAILABLE.has(e.code))) {
    return { ok: false, reason: 'unavailable', detail: `${e.name}: ${e.message}`, latencyMs };
  }
  if (e.$metadata === undefined) {
    // Not an answer from the service at all: the connection failed.
    return { ok: false, reason: 'unavailable', detail: e.code ?? e.name, latencyMs };
  }
  if (e.name === 'ModelError' && e.OriginalStatusCode === 400) {
    return { ok: false, reason: 'rejected', detail: e.OriginalMessage ?? e.message, latencyMs };
  }
  return { ok: false, reason: 'model_error', detail: `${e.name}: ${e.message}`, latencyMs };
}

/**
 * Calls model versions through the unmodified AWS SDK client: `TargetVariant` selects the
 * version's production variant. The SDK's own retries are off (`maxAttempts: 1`): a model call is
 * expensive and the gateway owns the timeout, so a retry would only stretch it.
 */
export class SageMakerModelClient implements ModelClient {
  private readonly client: SageMakerRuntimeClient;

  constructor(opts: SageMakerOptions) {
    const local = opts.endpoint !== undefined;
    this.client = new SageMakerRuntimeClient({
      region: opts.region,
      maxAttempts: 1,
      // Every open response stream holds a socket for its whole length: keep room for many.
      requestHandler: { httpAgent: { keepAlive: true, maxSockets: 256 }, connectionTimeout: 2_000 },
      ...(local
        ? { endpoint: opts.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
  }

  async invoke(call: ModelInvocation): Promise<ModelCallResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(call.timeoutMs);
    try {
      const out = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: call.endpointName,
          TargetVariant: call.variant,
          ContentType: 'application/json',
          Accept: 'application/json',
          InferenceId: call.requestId,
          Body: JSON.stringify(call.body),
        }),
        { abortSignal: signal },
      );
      const latencyMs = performance.now() - started;
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(out.Body));
      } catch {
        return {
          ok: false,
          reason: 'model_error',
          detail: 'the model answered with a body that is not JSON',
          latencyMs,
        };
      }
      return { ok: true, body, invokedVariant: out.InvokedProductionVariant, latencyMs };
    } catch (err) {
      return classify(err, signal.aborted, call.timeoutMs, performance.now() - started);
    }
  }

  /**
   * `InvokeEndpointWithResponseStream`. `timeoutMs` bounds the wait for the first part and every
   * gap between parts (time the model spends, not time the consumer spends), so a long answer that
   * keeps coming is never cut. Leaving the `for await` early, or `call.signal`, aborts the HTTP
   * request: that is what tells the model to stop generating.
   */
  async invokeStream(call: ModelStreamInvocation): Promise<ModelStreamResult> {
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, call.timeoutMs);
    };
    const onCallerAbort = () => controller.abort();
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
    };
    arm();
    let out: InvokeEndpointWithResponseStreamCommandOutput;
    try {
      out = await this.client.send(
        new InvokeEndpointWithResponseStreamCommand({
          EndpointName: call.endpointName,
          TargetVariant: call.variant,
          ContentType: 'application/json',
          Accept: 'application/jsonlines',
          InferenceId: call.requestId,
          Body: JSON.stringify(call.body),
        }),
        { abortSignal: controller.signal },
      );
    } catch (err) {
      cleanup();
      return classify(err, timedOut, call.timeoutMs, performance.now() - started);
    }
    const latencyMs = performance.now() - started;
    const body = out.Body;
    async function* parts(): AsyncGenerator<Uint8Array> {
      let finished = false;
      try {
        if (body) {
          for await (const event of body) {
            clearTimeout(timer);
            const bytes = event.PayloadPart?.Bytes;
            if (bytes && bytes.length > 0) yield bytes;
            arm();
          }
        }
        finished = true;
      } catch (err) {
        if (timedOut) {
          throw new ModelStreamFailure('timeout', `no part within ${call.timeoutMs} ms`, { cause: err });
        }
        if (controller.signal.aborted) throw new ModelStreamFailure('aborted', 'aborted', { cause: err });
        const e = err as Error;
        throw new ModelStreamFailure('model_error', `${e.name}: ${e.message}`, { cause: err });
      } finally {
        cleanup();
        if (!finished) controller.abort();
      }
    }
    return { ok: true, stream: parts(), invokedVariant: out.InvokedProductionVariant, latencyMs };
  }

  destroy(): void {
    this.client.destroy();
  }
}
