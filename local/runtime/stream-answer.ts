import type http from 'node:http';
import { payloadPartFrame, streamErrorFrame } from './event-stream';
import type { ModelHandler } from './model-handler';
import type { InvocationLogEntry, RuntimeServerOptions } from './server-options';

/**
 * Streams the handler's parts as event-stream frames. The status line waits for the first part,
 * so a request the model rejects (or a model that fails at once) is still a plain, typed HTTP
 * error; a failure after that is a `ModelStreamError` frame, as SageMaker sends it.
 */
export async function streamAnswer(
  handler: ModelHandler,
  body: Buffer,
  headers: http.IncomingHttpHeaders,
  res: http.ServerResponse,
  signal: AbortSignal,
  info: { endpointName: string; variant: string; requestId: string; started: number },
  options: Pick<RuntimeServerOptions, 'container' | 'onInvocation'>,
): Promise<void> {
  const parts = (handler.invokeStream as NonNullable<ModelHandler['invokeStream']>)(
    body,
    headers['content-type'],
    signal,
  )[Symbol.asyncIterator]();
  const first = await parts.next();
  // A container answers the model's bytes, chunked; SageMaker frames them as PayloadParts.
  const raw = options.container !== undefined;
  res.writeHead(
    200,
    raw
      ? { 'content-type': 'application/jsonlines' }
      : {
          'content-type': 'application/vnd.amazon.eventstream',
          'x-amzn-sagemaker-content-type': 'application/jsonlines',
          'x-amzn-invoked-production-variant': info.variant,
          'x-amzn-requestid': info.requestId,
        },
  );
  let status = 200;
  let detail: string | undefined;
  try {
    for (let part = first; !part.done; part = await parts.next()) {
      if (res.destroyed) break;
      // A slow reader holds the model's parts here rather than in the socket's buffer.
      if (!res.write(raw ? part.value : payloadPartFrame(part.value))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
  } catch (error) {
    status = 500;
    detail = error instanceof Error ? error.message : String(error);
    // A container cannot frame an error mid-stream: cutting the response is how SageMaker
    // learns of it (the caller gets a ModelStreamError).
    if (raw) res.destroy();
    else if (!res.destroyed) res.write(streamErrorFrame('ModelStreamError', detail, 'ModelError'));
  } finally {
    await parts.return?.();
  }
  res.end();
  const entry: InvocationLogEntry = {
    requestId: info.requestId,
    endpoint: info.endpointName,
    variant: info.variant,
    status: signal.aborted ? 499 : status,
    durationMs: performance.now() - info.started,
  };
  if (detail !== undefined) {
    entry.errorType = 'ModelStreamError';
    entry.detail = detail;
  }
  options.onInvocation?.(entry);
}
