import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { inferenceComponentName } from '../../shared/catalog/deployment';
import { registryReadiness } from './readiness';
import type { EndpointRegistry, VariantCapacity } from './registry';
import {
  asModelFailure,
  BodyTooLarge,
  busy,
  containerError,
  HttpError,
  modelError,
  readBody,
  readinessError,
  sendError,
} from './runtime-errors';
import { type Priority, Semaphore } from './semaphore';
import type { InvocationLogEntry, RuntimeServerOptions } from './server-options';
import { streamAnswer } from './stream-answer';

export type { InvocationLogEntry, RuntimeServerOptions } from './server-options';

export const DEFAULT_CAPACITY: VariantCapacity = { maxInFlight: 4, maxQueue: 64 };
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

// A path prefix in the client's `endpoint` is kept by the SDK, so match on the tail of the path.
const INVOCATIONS = /\/endpoints\/([^/]+)\/invocations(-response-stream)?$/;
const FAULT = /^\/faults\/([^/]+)\/([^/]+)\/crash$/;
/** SageMaker's answer to a call on an inference component that has no copy running. */
export const NO_CAPACITY_MESSAGE =
  'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.';
/** `tenant=<id>` in SageMaker's CustomAttributes (`key=value` pairs split by `;` or `,`). */
const TENANT_ATTRIBUTE = /(?:^|[;,])\s*tenant=([^;,\s]{1,128})/;

/** `priority=batch` in the same attributes: a batch line's call, served after every online one. */
const PRIORITY_ATTRIBUTE = /(?:^|[;,])\s*priority=([^;,\s]{1,32})/;

/** The tenant a call is queued for: the gateway names it in the custom attributes; '' when none. */
export function tenantOf(headers: http.IncomingHttpHeaders): string {
  const attributes = headers['x-amzn-sagemaker-custom-attributes'];
  return (typeof attributes === 'string' && TENANT_ATTRIBUTE.exec(attributes)?.[1]) || '';
}

/** The call's priority: `batch` when the custom attributes say `priority=batch`, else `online`. */
export function priorityOf(headers: http.IncomingHttpHeaders): Priority {
  const attributes = headers['x-amzn-sagemaker-custom-attributes'];
  return typeof attributes === 'string' && PRIORITY_ATTRIBUTE.exec(attributes)?.[1] === 'batch'
    ? 'batch'
    : 'online';
}

/**
 * The SageMaker Runtime `InvokeEndpoint` and `InvokeEndpointWithResponseStream` APIs over
 * node:http, for the unmodified AWS SDK client with an `endpoint` override. Also answers `GET /ping`
 * like a SageMaker container.
 */
export function createRuntimeServer(
  registry: EndpointRegistry,
  options: RuntimeServerOptions = {},
): http.Server {
  const accountId = options.accountId ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxQueueWaitMs = options.maxQueueWaitMs ?? 10_000;
  const scope = { accountId, region };
  const semaphores = new Map<string, Semaphore>();

  function semaphoreFor(endpointName: string, variant: string, capacity: VariantCapacity): Semaphore {
    const key = `${endpointName}\u0000${variant}`;
    let semaphore = semaphores.get(key);
    if (!semaphore) {
      semaphore = new Semaphore(
        capacity.maxInFlight,
        capacity.maxQueue,
        maxQueueWaitMs,
        capacity.maxBatchInFlight ?? options.maxBatchInFlight,
      );
      semaphores.set(key, semaphore);
    }
    return semaphore;
  }

  async function invoke(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rawName: string,
    requestId: string,
    started: number,
    stream: boolean,
    fixedVariant?: string,
  ): Promise<void> {
    let endpointName = rawName;
    let variant: string | undefined;
    try {
      try {
        endpointName = decodeURIComponent(rawName);
      } catch {
        throw new HttpError(400, 'ValidationError', 'Endpoint name is not valid percent-encoding.');
      }
      const config = registry.get(endpointName);
      if (!config) {
        throw new HttpError(
          400,
          'ValidationError',
          `Endpoint ${endpointName} of account ${accountId} not found.`,
        );
      }
      // A version is addressed as SageMaker addresses it: by its inference component
      // (`<endpoint>-<variant>`, what the gateway sends), or by production variant name.
      const component = req.headers['x-amzn-sagemaker-inference-component'];
      const targetVariant = req.headers['x-amzn-sagemaker-target-variant'];
      if (fixedVariant !== undefined) variant = fixedVariant;
      else if (typeof component === 'string' && component !== '') {
        variant = [...config.variants.keys()].find(
          (v) => inferenceComponentName({ endpointName, variant: v }) === component,
        );
        if (variant === undefined) {
          throw new HttpError(
            400,
            'ValidationError',
            `Inference component ${component} not found for endpoint ${endpointName} of account ${accountId}.`,
          );
        }
      } else {
        variant =
          typeof targetVariant === 'string' && targetVariant !== '' ? targetVariant : config.defaultVariant;
      }
      const handler = config.variants.get(variant);
      if (!handler) {
        throw new HttpError(
          400,
          'ValidationError',
          `Target variant ${variant} not found for endpoint ${endpointName} of account ${accountId}.`,
        );
      }
      // A component with no copy (scaled to zero), as SageMaker answers it, word for word.
      if (options.coldComponents?.has(inferenceComponentName({ endpointName, variant }))) {
        throw new HttpError(400, 'ValidationError', NO_CAPACITY_MESSAGE);
      }
      const notReady = readinessError(endpointName, variant, handler);
      if (notReady) throw notReady;
      const semaphore = semaphoreFor(
        endpointName,
        variant,
        config.capacity ?? options.capacity ?? DEFAULT_CAPACITY,
      );
      const tenant = tenantOf(req.headers);
      // Batch lines wait while any online call waits, and only a few run at once.
      const priority = priorityOf(req.headers);
      // Turn away before buffering the body when the queue is already full: overload must stay cheap.
      if (semaphore.wouldRefuse(tenant, priority)) throw busy(endpointName, variant);

      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          throw new HttpError(413, 'ValidationError', `Request body is larger than ${maxBodyBytes} bytes.`);
        }
        throw error;
      }

      if (stream && !handler.invokeStream) {
        throw new HttpError(
          400,
          'ValidationError',
          `Variant ${variant} of endpoint ${endpointName} does not support response streaming.`,
        );
      }

      // The caller hanging up (the gateway's timeout, or its own client gone) takes the call out of
      // the queue, or cancels the model's work: nobody would read the answer.
      const hangUp = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) hangUp.abort(new Error('the caller closed the connection'));
      });
      if (
        !semaphore.tryAcquire(tenant, priority) &&
        !(await semaphore.acquire(tenant, hangUp.signal, priority))
      ) {
        if (hangUp.signal.aborted) return;
        throw busy(endpointName, variant);
      }
      let result: unknown;
      try {
        // The caller gave up while queued: do not spend model time on an answer nobody reads.
        if (res.destroyed) return;
        // The model may have died and be reloading since this call was admitted to the queue.
        const stillNotReady = readinessError(endpointName, variant, handler);
        if (stillNotReady) throw stillNotReady;
        if (stream) {
          await streamAnswer(
            handler,
            body,
            req.headers,
            res,
            hangUp.signal,
            { endpointName, variant, requestId, started },
            options,
          );
          return;
        }
        result = await handler.invoke(body, req.headers['content-type'], hangUp.signal);
      } catch (error) {
        throw asModelFailure(scope, endpointName, error);
      } finally {
        semaphore.release(tenant, priority);
      }

      const payload = JSON.stringify(result);
      if (payload === undefined)
        throw modelError(scope, endpointName, 500, 'Model returned no JSON-serialisable value.');
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'x-amzn-invoked-production-variant': variant,
        'x-amzn-requestid': requestId,
      });
      res.end(payload);
      options.onInvocation?.({
        requestId,
        endpoint: endpointName,
        variant,
        status: 200,
        durationMs: performance.now() - started,
      });
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      const httpError =
        error instanceof HttpError
          ? error
          : new HttpError(500, 'InternalFailure', 'An internal error occurred in the local runtime.');
      const entry: InvocationLogEntry = {
        requestId,
        endpoint: endpointName,
        status: httpError.status,
        errorType: httpError.errorType,
        detail: error instanceof Error ? error.message : String(error),
        durationMs: performance.now() - started,
      };
      if (variant !== undefined) entry.variant = variant;
      // 413 answers before the body is read: close the connection rather than drain megabytes.
      sendError(
        res,
        options.container ? containerError(httpError) : httpError,
        requestId,
        httpError.status === 413,
      );
      options.onInvocation?.(entry);
    }
  }

  const server = http.createServer((req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);

    if (options.container && path === '/invocations') {
      if (req.method !== 'POST') {
        sendError(res, new HttpError(405, 'MethodNotAllowed', 'Use POST for /invocations.'), requestId);
        return;
      }
      const stream = (req.headers.accept ?? '').includes('application/jsonlines');
      const { endpointName, variant } = options.container;
      void invoke(req, res, encodeURIComponent(endpointName), requestId, started, stream, variant);
      return;
    }
    const match = INVOCATIONS.exec(path);
    if (match?.[1] !== undefined) {
      if (req.method !== 'POST') {
        sendError(res, new HttpError(405, 'MethodNotAllowed', `Use POST for ${path}.`), requestId);
        return;
      }
      void invoke(req, res, match[1], requestId, started, match[2] !== undefined);
      return;
    }
    if (path === '/state' && (req.method === 'GET' || req.method === 'HEAD')) {
      // What each variant is doing now: its queue and the work its model holds. Counts only, no
      // tenant: tests and operators check that nothing is left running after a call was given up.
      const variants: Record<string, Record<string, number>> = {};
      for (const [endpointName, config] of registry) {
        for (const [variant, handler] of config.variants) {
          const semaphore = semaphores.get(`${endpointName}\u0000${variant}`);
          variants[`${endpointName}/${variant}`] = {
            inFlight: semaphore?.inFlight ?? 0,
            queued: semaphore?.queued ?? 0,
            waitingTenants: semaphore?.waitingKeys ?? 0,
            batchInFlight: semaphore?.batchInFlight ?? 0,
            batchQueued: semaphore?.batchQueued ?? 0,
            ...handler.activity?.(),
          };
        }
      }
      const payload = JSON.stringify({ variants });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
      return;
    }
    if (path === '/ping' || path.endsWith('/ping')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, new HttpError(405, 'MethodNotAllowed', 'Use GET for /ping.'), requestId);
        return;
      }
      // Honest health: 200 only when no hosted model is still loading; the body says which are.
      const { ready, status, models } = registryReadiness(registry);
      const payload = JSON.stringify({ status, models });
      res.writeHead(ready ? 200 : 503, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
      return;
    }
    const fault = options.faults && req.method === 'POST' ? FAULT.exec(path) : null;
    if (fault?.[1] !== undefined && fault[2] !== undefined) {
      const handler = registry.get(decodeURIComponent(fault[1]))?.variants.get(decodeURIComponent(fault[2]));
      if (!handler?.injectCrash) {
        sendError(res, new HttpError(404, 'ValidationError', 'No such worker-hosted variant.'), requestId);
        return;
      }
      handler.injectCrash();
      res.writeHead(204);
      res.end();
      return;
    }
    sendError(
      res,
      new HttpError(404, 'UnknownOperationException', `No route for ${req.method} ${path}.`),
      requestId,
    );
  });
  // Outlive the SDK's idle keep-alive sockets so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
