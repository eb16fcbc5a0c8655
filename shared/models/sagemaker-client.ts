import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-runtime';
import { inferenceComponentName } from '../catalog/deployment';
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
const utf8 = new TextDecoder();
const NOT_INSTALLED = /^(Endpoint|Target variant|Inference component) \S+ .*(not found|is not installed)/;
/**
 * SageMaker's answer for an inference component with no copy (a preview version scaled to zero, or
 * woken and still starting): `ValidationError: Inference Component has no capacity to process this
 * request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity
 * by invoking UpdateInferenceComponentRuntimeConfig API.`
 */
const NO_CAPACITY = /^Inference Component has no capacity to process this request/i;

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
  // Cold: the version's component has no copy. The refused call itself wakes it (its
  // NoCapacityInvocationFailures alarm adds a copy), so the caller is told when to come back.
  if (e.name === 'ValidationError' && NO_CAPACITY.test(e.message)) {
    return { ok: false, reason: 'cold', detail: e.message, latencyMs };
  }
  // SageMaker's answer for an endpoint or variant that is not deployed (`Endpoint x of account y
  // not found.`, `Target variant v not found for endpoint x`), and the local runtime's for a
  // variant whose weights are not installed: no retry can change it.
  if (e.name === 'ValidationError' && NOT_INSTALLED.test(e.message)) {
    return { ok: false, reason: 'not_installed', detail: e.message, latencyMs };
  }
  // The container's own 4xx, which SageMaker wraps as a 424 ModelError naming it
  // (OriginalStatusCode, OriginalMessage: the container's body). 400 is the model server's refusal
  // of an input; 422 is TGI's (`{"error": "Input validation error: ...", "error_type":
  // "validation"}`, router/src/server.rs `impl From<InferError> for (StatusCode, Json<ErrorResponse>)`),
  // and its 429 is TGI's "Model is overloaded" (error_type `overloaded`): at capacity, as a 503.
  if (e.name === 'ModelError' && (e.OriginalStatusCode === 400 || e.OriginalStatusCode === 422)) {
    return {
      ok: false,
      reason: 'rejected',
      detail: containerMessage(e.OriginalMessage ?? e.message),
      latencyMs,
    };
  }
  if (e.name === 'ModelError' && e.OriginalStatusCode === 429) {
    return { ok: false, reason: 'busy', detail: containerMessage(e.OriginalMessage ?? e.message), latencyMs };
  }
  return { ok: false, reason: 'model_error', detail: `${e.name}: ${e.message}`, latencyMs };
}

/**
 * The message of a container's error body: TGI answers `{"error": "<message>", "error_type": ...}`
 * (its `ErrorResponse`); anything else (the model server's plain message) is kept as it is.
 */
function containerMessage(body: string): string {
  if (!body.startsWith('{')) return body;
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : body;
  } catch {
    return body;
  }
}

/**
 * `tenant=<id>` for the model server's fair queue and `priority=batch` for a batch line's call,
 * `;`-separated (local/runtime/server.ts `tenantOf`, `priorityOf`); nothing when neither applies.
 */
function customAttributes(call: ModelInvocation): { CustomAttributes?: string } {
  if (call.priority === 'batch') {
    return { CustomAttributes: call.tenantId ? `tenant=${call.tenantId};priority=batch` : 'priority=batch' };
  }
  return call.tenantId ? { CustomAttributes: `tenant=${call.tenantId}` } : {};
}

/** Distinct per-version timeouts that get a client of their own (beyond: the per-call path). */
const MAX_UNARY_CLIENTS = 16;

/**
 * Calls model versions through the unmodified AWS SDK client: `InferenceComponentName` selects
 * the version's inference component on its endpoint, named from the catalog's endpoint and
 * variant (`inferenceComponentName`, shared/catalog/deployment.ts) exactly as the Models stack
 * names it. The SDK's own retries are off (`maxAttempts: 1`): a model call is
 * expensive and the gateway owns the timeout, so a retry would only stretch it.
 *
 * `InvokeEndpoint`, on every inference request, goes through a client per timeout value with
 * `cacheMiddleware` on: the SDK builds a command's middleware chain on every `send` otherwise
 * (about a fifth of the call's CPU and allocation). A cached chain takes no per-call options, so
 * the timeout is the handler's `requestTimeout` (time to the answer's headers, after which the
 * small body follows) instead of an abort signal. Every client shares one socket pool.
 */
export class SageMakerModelClient implements ModelClient {
  private readonly client: SageMakerRuntimeClient;
  private readonly unary = new Map<number, SageMakerRuntimeClient>();
  private readonly agents = {
    // Every open response stream holds a socket for its whole length: keep room for many.
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };

  constructor(private readonly opts: SageMakerOptions) {
    this.client = this.newClient({ ...this.agents, connectionTimeout: 2_000 });
  }

  private newClient(
    requestHandler: SageMakerRuntimeClientConfig['requestHandler'],
    extra: { cacheMiddleware?: boolean } = {},
  ): SageMakerRuntimeClient {
    const local = this.opts.endpoint !== undefined;
    return new SageMakerRuntimeClient({
      region: this.opts.region,
      maxAttempts: 1,
      requestHandler,
      ...extra,
      ...(local
        ? { endpoint: this.opts.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
  }

  /** The cached-chain client whose handler gives up after `timeoutMs`; undefined past the bound. */
  private unaryClient(timeoutMs: number): SageMakerRuntimeClient | undefined {
    let client = this.unary.get(timeoutMs);
    if (client || this.unary.size >= MAX_UNARY_CLIENTS) return client;
    client = this.newClient(
      { ...this.agents, connectionTimeout: 2_000, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
      { cacheMiddleware: true },
    );
    this.unary.set(timeoutMs, client);
    return client;
  }

  async invoke(call: ModelInvocation): Promise<ModelCallResult> {
    const started = performance.now();
    const command = new InvokeEndpointCommand({
      EndpointName: call.endpointName,
      InferenceComponentName: inferenceComponentName(call),
      ContentType: 'application/json',
      Accept: 'application/json',
      InferenceId: call.requestId,
      ...customAttributes(call),
      Body: JSON.stringify(call.body),
    });
    // A call its caller may abort, or past the bound of distinct timeouts: the per-call chain with
    // an abort signal (a timer cleared when the call ends; `AbortSignal.timeout` would keep one
    // alive for the whole timeout). Either way a timeout or an abort closes the connection, which
    // is what tells the model server to stop the work.
    const cached = call.signal ? undefined : this.unaryClient(call.timeoutMs);
    const controller = cached ? undefined : new AbortController();
    let timedOut = false;
    const timer = controller
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, call.timeoutMs)
      : undefined;
    const onCallerAbort = () => controller?.abort();
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (call.signal?.aborted) controller?.abort();
    try {
      const out = cached
        ? await cached.send(command)
        : await this.client.send(command, { abortSignal: controller?.signal });
      const latencyMs = performance.now() - started;
      let body: unknown;
      try {
        body = JSON.parse(utf8.decode(out.Body));
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
      // The handler's request timeout is a TimeoutError with code ETIMEDOUT; the handler also
      // names a reset socket (ECONNRESET, EPIPE) and a connect timeout (no code) TimeoutError, and
      // those are `unavailable`, as before.
      if (call.signal?.aborted && !timedOut) {
        return {
          ok: false,
          reason: 'unavailable',
          detail: 'the caller went away; the call was cancelled',
          latencyMs,
        };
      }
      return classify(
        err,
        controller ? timedOut : (err as Error & { code?: string }).code === 'ETIMEDOUT',
        call.timeoutMs,
        latencyMs,
      );
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
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
          InferenceComponentName: inferenceComponentName(call),
          ContentType: 'application/json',
          Accept: 'application/jsonlines',
          InferenceId: call.requestId,
          ...customAttributes(call),
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
    for (const client of this.unary.values()) client.destroy();
    this.agents.httpAgent.destroy();
    this.agents.httpsAgent.destroy();
  }
}
