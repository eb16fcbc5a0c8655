import { createHash } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { ApiError } from '#shared/errors';
import type { DataEnv } from '../http/env';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
/** Answers larger than this are not kept (a DynamoDB item holds 400 KB). */
const MAX_STORED_BYTES = 300_000;

/**
 * `Idempotency-Key` on POST: a retry with the same key and body returns the first answer (with
 * `idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are
 * kept; a failed attempt released its reservation and billed nothing, so its retry runs afresh.
 * Streamed answers cannot be replayed; a retry of a completed stream is refused with 409.
 */
export function idempotency() {
  return createMiddleware<DataEnv>(async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined || c.req.method !== 'POST') return next();
    if (!KEY_RE.test(key)) {
      throw new ApiError('invalid_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', {
        param: 'Idempotency-Key',
      });
    }
    const { deps, principal } = { deps: c.get('deps'), principal: c.get('principal') };
    const body = await c.req.raw.clone().text();
    const fingerprint = createHash('sha256').update(`${c.req.method} ${c.req.path}\n${body}`).digest('hex');
    const begun = await deps.idempotency.begin(principal.tenantId, key, fingerprint, deps.now());
    if (begun.state === 'mismatch') {
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was used with a different request.',
        {
          param: 'Idempotency-Key',
        },
      );
    }
    if (begun.state === 'in_progress') {
      throw new ApiError(
        'idempotency_in_progress',
        'A request with this Idempotency-Key is still being served; retry shortly.',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    if (begun.state === 'replay') {
      const { status, headers, body: stored } = begun.response;
      return c.body(stored, status as 200, { ...headers, 'idempotent-replayed': 'true' });
    }
    try {
      await next();
    } catch (err) {
      await deps.idempotency.abandon(principal.tenantId, key);
      throw err;
    }
    const res = c.res;
    const streamed = res.headers.get('content-type')?.startsWith('text/event-stream');
    if (res.status >= 400 || c.error) {
      await deps.idempotency.abandon(principal.tenantId, key);
      return;
    }
    const text = streamed ? '' : await res.clone().text();
    if (streamed || text.length > MAX_STORED_BYTES) {
      // Keep the claim so the retry is not served twice, but with nothing to replay.
      await deps.idempotency.complete(principal.tenantId, key, {
        status: 409,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          new ApiError(
            'idempotency_in_progress',
            'The request with this Idempotency-Key completed, and its answer cannot be replayed.',
          ).toEnvelope(),
        ),
      });
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'x-model-version', 'deprecation', 'sunset']) {
      const v = res.headers.get(name);
      if (v) headers[name] = v;
    }
    await deps.idempotency.complete(principal.tenantId, key, { status: res.status, headers, body: text });
  });
}
