import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ModelCallResult, ModelClient, ModelInvocation } from './model-client';

export interface SageMakerOptions {
  region: string;
  /** Endpoint override: the local model runtime. Unset in the cloud. */
  endpoint?: string;
}

const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET']);

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
      const latencyMs = performance.now() - started;
      const e = err as Error & { code?: string; $metadata?: unknown };
      if (signal.aborted)
        return { ok: false, reason: 'timeout', detail: `no answer within ${call.timeoutMs} ms`, latencyMs };
      if (e.name === 'ServiceUnavailable') return { ok: false, reason: 'busy', detail: e.name, latencyMs };
      if (e.name === 'ModelNotReadyException')
        return { ok: false, reason: 'loading', detail: e.name, latencyMs };
      const original = e as { OriginalStatusCode?: number; OriginalMessage?: string };
      if (
        e.name === 'ModelError' &&
        original.OriginalStatusCode !== undefined &&
        original.OriginalStatusCode < 500
      ) {
        // The model's own 4xx: the input was unreadable to it (e.g. an image that does not decode).
        return { ok: false, reason: 'rejected', detail: original.OriginalMessage ?? e.message, latencyMs };
      }
      if (UNAVAILABLE.has(e.name) || (e.code && UNAVAILABLE.has(e.code))) {
        return { ok: false, reason: 'unavailable', detail: e.name, latencyMs };
      }
      if (e.$metadata === undefined) {
        // Not an answer from the service at all: the connection failed.
        return { ok: false, reason: 'unavailable', detail: e.code ?? e.name, latencyMs };
      }
      return { ok: false, reason: 'model_error', detail: `${e.name}: ${e.message}`, latencyMs };
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
