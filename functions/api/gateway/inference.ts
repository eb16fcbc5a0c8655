import type { Context } from 'hono';
import { modelRefusal, versionAllowed, versionsAllowed } from '#shared/auth/key-scope-rules';
import { batchPrices } from '#shared/catalog/batch-prices';
import { chatWireOf } from '#shared/catalog/chat-wire';
import { parseModelRef, type Resolution } from '#shared/catalog/resolver';
import type { ModelTask, ModelVersion } from '#shared/catalog/types';
import { ApiError, type ErrorCode } from '#shared/errors';
import { chatAdapterFor } from '#shared/models/chat-adapter';
import type { ChatAdapter } from '#shared/models/chat-contract';
import type { ModelCallResult } from '#shared/models/model-client';
import type { DataEnv } from '../http/env';

/** A resolved, callable model version. */
export interface Target {
  version: ModelVersion;
  /** `name@version`, as the answer names it. */
  served: string;
}

const TASK_ROUTES: Record<ModelTask, string> = {
  'text-sentiment': '/v1/text/sentiment',
  chat: '/v1/chat/completions',
  'image-moderation': '/v1/images/moderations',
  ocr: '/v1/images/ocr',
  embeddings: '/v1/embeddings',
};

/**
 * Resolves the body's `model` to a version of a model that does `task`, for the calling tenant
 * (its pins and its sticky share of weighted traffic). Unknown names, versions and aliases, retired
 * versions and models of another task are 400s with `param: "model"`. The answer names the version
 * in `x-model-version`; a deprecated one adds `Deprecation` and `Sunset` headers (RFC 9745, 8594).
 */
export async function resolveTarget(c: Context<DataEnv>, ref: string, task: ModelTask): Promise<Target> {
  const deps = c.get('deps');
  const tenantId = c.get('principal')?.tenantId;
  // Pins only matter when the request names no version, so an explicit `@version` costs no read.
  const pins = tenantId !== undefined && !ref.includes('@') ? await deps.pins.forTenant(tenantId) : undefined;
  const r = await scopedResolve(c, ref, await deps.resolver.resolve(ref, { tenantId, pins }));
  if (!r.ok) {
    const pinned = 'pinned' in r && r.pinned ? ' (your pin; change it at /account/models/pins)' : '';
    if (r.reason === 'retired') {
      throw new ApiError(
        'model_version_retired',
        `Version '${r.version}' of '${r.model}' is retired${pinned}; use '${r.model}@${r.replacement}' instead.`,
        { param: 'model' },
      );
    }
    const message =
      r.reason === 'unknown_model'
        ? `The model '${r.model}' does not exist. GET /v1/models lists the models you can use.`
        : `The model '${r.model}' has no version or alias '${r.version}'${pinned}.`;
    throw new ApiError('model_not_found', message, { param: 'model' });
  }
  if (r.model.task !== task) {
    throw new ApiError(
      'invalid_request',
      `The model '${r.model.name}' does ${r.model.task}; call it at ${TASK_ROUTES[r.model.task]}.`,
      { param: 'model' },
    );
  }
  const served = `${r.model.name}@${r.version.version}`;
  c.header('x-model-version', served);
  c.set('modelVersion', served);
  for (const [name, value] of Object.entries(deprecationHeaders(r.version))) c.header(name, value);
  // Known to be missing: refused before any limit is touched or the model is called.
  if (r.version.availability) throw notInstalled(r.version, served);
  // A batch line is priced, reserved and recorded at the version's batch prices.
  if (c.get('channel') === 'batch')
    return { version: { ...r.version, prices: batchPrices(r.version) }, served };
  return { version: r.version, served };
}

/**
 * The key's model scope (key-scope-rules.ts), on the version resolution picked, before anything is
 * reserved: a model the scope does not name is refused (403 `model_not_in_key_scope`), and so is a
 * version or alias the request names that resolves outside it. A request naming only the model,
 * whose pin, weighted traffic or default would serve a version outside the scope, is served the
 * first version the scope names instead (not retired), as a pin would: a key limited to
 * `chat@tiny-1` is never served another chat version, and `model: "chat"` keeps working with it.
 */
async function scopedResolve(c: Context<DataEnv>, ref: string, r: Resolution): Promise<Resolution> {
  const scope = c.get('principal')?.keyScope;
  if (!scope?.models || scope.models.length === 0) return r;
  const parsed = parseModelRef(ref);
  // Not a reference at all: the resolver's own 400 says so.
  if (!parsed) return r;
  const allowed = versionsAllowed(scope, parsed.name);
  if (allowed === 'none') throw modelRefusal(scope, ref);
  if (!r.ok || allowed === 'all' || versionAllowed(scope, r.model.name, r.version.version)) return r;
  const served = `${r.model.name}@${r.version.version}`;
  if (parsed.requested !== undefined) throw modelRefusal(scope, ref, served);
  const entry = (await c.get('deps').resolver.catalog()).models.get(parsed.name);
  const version = allowed.find((v) => entry?.versions.get(v)?.status !== 'retired') ?? allowed[0]!;
  return c.get('deps').resolver.resolve(`${parsed.name}@${version}`);
}

/** `Deprecation: @<unix seconds>` and `Sunset: <HTTP-date>` for a deprecated version; nothing otherwise. */
export function deprecationHeaders(version: ModelVersion): Record<string, string> {
  if (version.status !== 'deprecated') return {};
  const headers: Record<string, string> = {};
  const since = Date.parse(version.deprecatedAt ?? version.releasedAt);
  if (!Number.isNaN(since)) headers.deprecation = `@${Math.floor(since / 1000)}`;
  if (version.sunsetAt) headers.sunset = new Date(version.sunsetAt).toUTCString();
  return headers;
}

/**
 * How to speak to a chat version's container: the model server's contract, or TGI's Messages API
 * (by the version's entry in `modelDeployments`, or `LLM_WIRE_VERSIONS`; shared/catalog/chat-wire.ts).
 */
export function chatAdapterOf(c: Context<DataEnv>, target: Target): ChatAdapter {
  return chatAdapterFor(chatWireOf(target.served, c.get('deps').config.LLM_WIRE_VERSIONS));
}

/**
 * How long a caller of a cold version (no copy running) waits before asking again. A copy starts
 * in one to five minutes (an instance, then the container and its weights): asking every 30 s
 * finds it at most 30 s after it is up, in about ten calls, each refused at once and unbilled.
 */
export const COLD_RETRY_AFTER_SECONDS = 30;

/** The version's timeout, never above the platform's. */
export function modelTimeoutMs(c: Context<DataEnv>, target: Target): number {
  const max = c.get('deps').config.MODEL_TIMEOUT_MS;
  return Math.min(target.version.limits.timeoutMs ?? max, max);
}

/** Calls the version's endpoint and variant; failures become 502/504 and nothing is billed. */
export async function invokeModel(
  c: Context<DataEnv>,
  target: Target,
  body: unknown,
  /**
   * The request field a refusal of the model is about, and the code to say it with (default
   * invalid_request); `signal`, the client's connection: its going away cancels the model's work.
   */
  opts: { rejectedParam?: string; rejectedCode?: ErrorCode; signal?: AbortSignal } = {},
): Promise<unknown> {
  const { deps, requestId } = { deps: c.get('deps'), requestId: c.get('requestId') };
  const timeoutMs = modelTimeoutMs(c, target);
  const result = await deps.models.invoke({
    endpointName: target.version.endpointName,
    variant: target.version.variant,
    body,
    timeoutMs,
    requestId,
    // The model server queues each version's calls fairly between tenants.
    tenantId: c.get('principal')?.tenantId,
    // A batch line waits behind every online call at the model server.
    ...(c.get('channel') === 'batch' ? { priority: 'batch' as const } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (result.ok) return result.body;
  throw modelCallFailed(c, target, result, timeoutMs, opts.rejectedParam, opts.rejectedCode);
}

/**
 * The error for a model call that failed before answering. A request the model itself refused
 * (its own 400: a prompt longer than the version accepts) is the caller's 400, naming `param`.
 */
export function modelCallFailed(
  c: Context<DataEnv>,
  target: Target,
  result: Pick<Extract<ModelCallResult, { ok: false }>, 'reason' | 'detail'>,
  timeoutMs: number,
  rejectedParam?: string,
  rejectedCode: ErrorCode = 'invalid_request',
): ApiError {
  const log = c.get('log');
  if (result.reason === 'rejected') {
    const detail = result.detail.slice(0, 300).replace(/\.?$/, '.');
    return new ApiError(rejectedCode, `${detail} You were not billed.`, {
      param: rejectedParam ?? null,
    });
  }
  log.warn({ model: target.served, reason: result.reason, detail: result.detail }, 'model call failed');
  if (result.reason === 'timeout') {
    return new ApiError(
      'model_timeout',
      `The model ${target.served} did not answer within ${timeoutMs} ms. You were not billed.`,
    );
  }
  if (result.reason === 'not_installed') return notInstalled(target.version, target.served);
  if (result.reason === 'cold') {
    // The version idles at zero copies and this call woke it (SageMaker counts it, and that alarm
    // adds a copy): minutes, not seconds. One bounded wait to come back after, never a loop
    // without end: a copy that does not come is the version's Cold alarm, not the caller's retry.
    return new ApiError(
      'model_cold',
      `The model ${target.served} is cold: no copy is running, and this call started one, which takes a few minutes. You were not billed; retry after ${COLD_RETRY_AFTER_SECONDS} seconds.`,
      { headers: { 'retry-after': String(COLD_RETRY_AFTER_SECONDS), 'x-should-retry': 'true' } },
    );
  }
  if (result.reason === 'busy' || result.reason === 'loading') {
    // A loading model is back within seconds (a worker restart, a first load); one that can never
    // load is `failed` in the runtime (a model error) and one not installed is `not_installed`, so
    // this never becomes a retry loop without end.
    return new ApiError(
      result.reason === 'busy' ? 'model_busy' : 'model_loading',
      result.reason === 'busy'
        ? `The model ${target.served} is at capacity. You were not billed; retry after a second.`
        : `The model ${target.served} is loading. You were not billed; retry in a few seconds.`,
      { headers: { 'retry-after': result.reason === 'busy' ? '1' : '5', 'x-should-retry': 'true' } },
    );
  }
  if (result.reason === 'unavailable') {
    return new ApiError(
      'model_unavailable',
      `The model ${target.served} is unavailable right now. You were not billed; try again shortly.`,
    );
  }
  return new ApiError('model_error', `The model ${target.served} failed to answer. You were not billed.`);
}

/**
 * A version that is listed but cannot answer: its weights or its endpoint are not installed. One
 * clear answer that names the fix; `x-should-retry: false` and no `Retry-After`, so the official
 * SDKs make exactly one request (a retry cannot install anything).
 */
export function notInstalled(version: ModelVersion, served: string): ApiError {
  const why = version.availability?.reason ? ` (${version.availability.reason})` : '';
  const install = version.availability?.install
    ? `, or an operator installs it with \`${version.availability.install}\``
    : ', or an operator deploys it';
  return new ApiError(
    'model_not_installed',
    `The model ${served} is not installed here${why}. You were not billed, and retrying will not help: call an available version (GET /v1/models says which)${install}.`,
    { param: 'model', headers: { 'x-should-retry': 'false' } },
  );
}

/** A garbled answer from the model is the model's failure, not the caller's. */
export function modelAnswerInvalid(target: Target, why: string): ApiError {
  return new ApiError(
    'model_error',
    `The model ${target.served} returned an answer the gateway could not read (${why}). You were not billed.`,
  );
}
