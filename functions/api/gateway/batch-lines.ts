import type { OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { Principal } from '#shared/auth/authenticator';
import type { RequestLine } from '#shared/batch/jsonl';
import { ApiError } from '#shared/errors';
import type { DataEnv, DataPlaneDeps } from '../http/env';
import { keyScopeGuard } from '../middleware/key-scope-guard';
import { createPlaneApp } from '../plane-app';
import { registerChatCompletions } from '../routes/v1/chat/completions';
import { registerEmbeddings } from '../routes/v1/embeddings/create';
import { registerImageModerations } from '../routes/v1/images/moderations';
import { registerImageOcr } from '../routes/v1/images/ocr';
import { registerSentiment } from '../routes/v1/text/sentiment';

/** Who a batch line runs as, and the request id it runs (and is billed) as on every attempt. */
export interface LineCall {
  principal: Principal;
  requestId: string;
}

interface LineBindings {
  batchLine?: LineCall;
}

/**
 * The `/v1` routes a batch line may call, behind this in place of the API-key middleware: the
 * principal and request id come from the worker (the app is never served over HTTP), and the
 * request is marked `batch`, so the gateway prices it at the batch prices, holds it to the month's
 * limits but not the per-minute ones, and tells the model server it may wait.
 */
function registerBatchLines(app: OpenAPIHono<DataEnv>): void {
  app.use(
    '/v1/*',
    createMiddleware<DataEnv>(async (c, next) => {
      const line = (c.env as LineBindings | undefined)?.batchLine;
      if (!line) throw new ApiError('not_found', 'Not found.');
      c.set('principal', line.principal);
      c.set('requestId', line.requestId);
      c.set('log', c.get('deps').log.child({ requestId: line.requestId, channel: 'batch' }));
      c.set('channel', 'batch');
      await next();
    }),
    // The key's current scope holds for each line (its endpoint, read-only; the model in
    // resolveTarget); its IP ranges were checked when the batch was created.
    keyScopeGuard({ checkAddress: false }),
  );
  registerSentiment(app);
  registerChatCompletions(app);
  registerEmbeddings(app);
  registerImageModerations(app);
  registerImageOcr(app);
}

export type LineApp = ReturnType<typeof createBatchLineApp>;

/** The app the batch worker runs lines through: the online routes, gateway and metering, in process. */
export function createBatchLineApp(deps: DataPlaneDeps) {
  return createPlaneApp(deps, registerBatchLines);
}

/** What a line's call answered: its HTTP status, its JSON body, and the version that served it. */
export interface LineAnswer {
  statusCode: number;
  body: unknown;
  served: string | null;
}

/** Runs one line through the routes, as `call`. */
export async function runLine(app: LineApp, line: RequestLine, call: LineCall): Promise<LineAnswer> {
  const res = await app.request(
    line.url,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(line.body) },
    { batchLine: call } satisfies LineBindings,
  );
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: { message: text.slice(0, 500), type: 'server_error', code: 'internal_error' } };
  }
  return { statusCode: res.status, body, served: res.headers.get('x-model-version') };
}
