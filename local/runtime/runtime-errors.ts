import type http from 'node:http';
import {
  type ModelHandler,
  ModelInputError,
  ModelNotInstalledError,
  ModelNotReadyError,
  ModelStatusError,
} from './model-handler';
import { notReadyAnswer } from './readiness';

/**
 * The runtime's errors as SageMaker Runtime answers them: a status, an `x-amzn-errortype`, and a
 * JSON body with the message and the type's own fields.
 */
type ErrorBody = { message: string; [field: string]: unknown };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class BodyTooLarge extends Error {}

/** Where a model's failure is logged, as SageMaker names it in a ModelError. */
export interface ErrorScope {
  accountId: string;
  region: string;
}

/** A model's own 4xx/5xx, wrapped as SageMaker wraps it: 424 ModelError with the original status. */
export function modelError(
  scope: ErrorScope,
  endpointName: string,
  originalStatus: number,
  originalMessage: string,
): HttpError {
  const kind = originalStatus < 500 ? 'client' : 'server';
  const logGroup = `/aws/sagemaker/Endpoints/${endpointName}`;
  return new HttpError(
    424,
    'ModelError',
    `Received ${kind} error (${originalStatus}) from model with message "${originalMessage}". ` +
      `See ${logGroup} in account ${scope.accountId} for more information.`,
    {
      OriginalStatusCode: originalStatus,
      OriginalMessage: originalMessage,
      LogStreamArn: `arn:aws:logs:${scope.region}:${scope.accountId}:log-group:${logGroup}`,
    },
  );
}

/** In a container, the model's own status: SageMaker wraps it as ModelError(OriginalStatusCode). */
export function containerError(error: HttpError): HttpError {
  const original = error.extra.OriginalStatusCode;
  if (error.errorType !== 'ModelError' || typeof original !== 'number') return error;
  return new HttpError(
    original,
    original < 500 ? 'ClientError' : 'ServerError',
    String(error.extra.OriginalMessage),
  );
}

/** What a handler threw, as the runtime answers it. */
export function asModelFailure(scope: ErrorScope, endpointName: string, error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ModelInputError) return modelError(scope, endpointName, 400, error.message);
  if (error instanceof ModelStatusError) return modelError(scope, endpointName, error.status, error.body);
  if (error instanceof ModelNotReadyError) return new HttpError(429, 'ModelNotReadyException', error.message);
  if (error instanceof ModelNotInstalledError) return new HttpError(400, 'ValidationError', error.message);
  return modelError(scope, endpointName, 500, error instanceof Error ? error.message : String(error));
}

export function readinessError(
  endpointName: string,
  variant: string,
  handler: ModelHandler,
): HttpError | undefined {
  const answer = notReadyAnswer(endpointName, variant, handler);
  return answer && new HttpError(answer.status, answer.errorType, answer.message, answer.extra);
}

/** 503 ServiceUnavailable rather than 429 ModelNotReadyException: the latter tells the caller the
 * model is still loading, which is false here; 503 says "overloaded, try again", and the SDK classes it
 * as a retryable server fault, so callers decide retries with `maxAttempts` as for real SageMaker. */
export function busy(endpointName: string, variant: string): HttpError {
  return new HttpError(
    503,
    'ServiceUnavailable',
    `Variant ${variant} of endpoint ${endpointName} is at capacity; retry later.`,
  );
}

export function sendError(
  res: http.ServerResponse,
  error: HttpError,
  requestId: string,
  closeConnection = false,
): void {
  const body: ErrorBody = { message: error.message, __type: error.errorType, ...error.extra };
  const payload = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-errortype': error.errorType,
    'x-amzn-requestid': requestId,
  };
  if (error.status === 503) headers['retry-after'] = '1';
  if (error.status === 429) headers['retry-after'] = '5';
  if (closeConnection) headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(payload);
}

export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed the connection mid-body'));
    });
  });
}
