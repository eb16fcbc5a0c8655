import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Principal } from '#shared/auth/authenticator';
import { ApiError } from '#shared/errors';
import { noModelVersion } from '#shared/observability/metrics';
import type { DataEnv } from '../http/env';

/**
 * The per-request metrics of docs/observability.md for `/v1`: `Requests` once the model version
 * is resolved, `Latency` of answered requests (to the last byte of a stream), `Errors` for 5xx and
 * `Refusals` for 429/403, by error code. `Units` are emitted where usage is settled (limits.ts).
 * The same outcomes go to the in-memory model health recorder (shared/observability/model-health.ts),
 * which the operators' overview reads once flushed: no store round trip here.
 * Mounted first, so refusals by authentication middleware are counted too.
 */
export function requestMetrics() {
  return createMiddleware<DataEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const { metrics, modelHealth } = c.get('deps');
    const version = c.get('modelVersion');
    const ModelVersion = version ?? noModelVersion;
    if (version !== undefined) metrics.emit('Requests', 1, { ModelVersion });
    const status = c.res.status;
    // The request log's refused and failed calls: every 4xx/5xx answered to a known key, whoever
    // refused it (scopes, limits, the gateway, the model), counted in memory: no store write here.
    const principal = c.get('principal');
    if (principal && status >= 400) countRefusal(c, principal, status, errorCode(c.error, status));
    if (status >= 500 || status === 429 || status === 403) {
      const Code = errorCode(c.error, status);
      metrics.emit(status >= 500 ? 'Errors' : 'Refusals', 1, { ModelVersion, Code });
      modelHealth.record({ modelVersion: ModelVersion, status, code: Code });
      return;
    }
    // Requests that never reached a model version (listing models, reading usage, bad auth) are
    // not any version's health; refusals and failures above are kept under `none`.
    if (version !== undefined && (status < 200 || status >= 300)) {
      modelHealth.record({ modelVersion: version, status, code: errorCode(c.error, status) });
    }
    if (status < 200 || status >= 300) return;
    const latency = () => {
      const ms = performance.now() - started;
      metrics.emit('Latency', Math.round(ms), { ModelVersion });
      if (version === undefined) return;
      // A stream that failed after its 200 is a failure of its version all the same.
      const failed = c.get('streamFailure');
      if (failed && principal) countRefusal(c, principal, failed.status, failed.code);
      if (failed) modelHealth.record({ modelVersion: version, status: failed.status, code: failed.code });
      else modelHealth.record({ modelVersion: version, status, latencyMs: ms });
    };
    const body = c.res.body;
    if (!body || !(c.res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      latency();
      return;
    }
    // A stream: time to its last byte, measured when it closes. One its client abandons (the
    // body cancelled) is a client-side outcome of its version, recorded as nginx's 499.
    const abandoned = () => {
      if (version !== undefined)
        modelHealth.record({ modelVersion: version, status: 499, code: 'client_closed_request' });
    };
    // (`cancel` is in the Streams standard and node's streams; TypeScript's lib does not list it yet.)
    const transformer = { flush: latency, cancel: abandoned };
    c.res = new Response(body.pipeThrough(new TransformStream(transformer)), c.res);
  });
}

function countRefusal(c: Context<DataEnv>, p: Principal, status: number, reason: string): void {
  c.get('deps').refusals.record({
    tenantId: p.tenantId,
    keyId: p.keyId,
    projectId: p.projectId,
    reason,
    status,
  });
}

/** The answer's error code: the thrown ApiError's, else what the status means. */
function errorCode(error: Error | undefined, status: number): string {
  if (error instanceof ApiError) return error.code;
  return status >= 500 ? 'internal_error' : String(status);
}
