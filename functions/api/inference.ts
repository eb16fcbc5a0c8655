import type { Context } from 'hono';
import type { ModelTask, ModelVersion } from '../../shared/catalog/types';
import { ApiError, type ErrorCode } from '../../shared/errors';
import { costNanoUsd, type Units } from '../../shared/metering/pricing';
import type { AppEnv } from './env';

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
};

/**
 * Resolves the body's `model` to a version of a model that does `task`, for the calling tenant
 * (its pins and its sticky share of weighted traffic). Unknown names, versions and aliases, retired
 * versions and models of another task are 400s with `param: "model"`. The answer names the version
 * in `x-model-version`; a deprecated one adds `Deprecation` and `Sunset` headers (RFC 9745, 8594).
 */
export async function resolveTarget(c: Context<AppEnv>, ref: string, task: ModelTask): Promise<Target> {
  const deps = c.get('deps');
  const tenantId = c.get('principal')?.tenantId;
  // Pins only matter when the request names no version, so an explicit `@version` costs no read.
  const pins = tenantId !== undefined && !ref.includes('@') ? await deps.pins.forTenant(tenantId) : undefined;
  const r = await deps.resolver.resolve(ref, { tenantId, pins });
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
  for (const [name, value] of Object.entries(deprecationHeaders(r.version))) c.header(name, value);
  return { version: r.version, served };
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

/** Calls the version's endpoint and variant; failures become 502/504 and nothing is billed. */
export async function invokeModel(
  c: Context<AppEnv>,
  target: Target,
  body: unknown,
  /** The request field the model's refusal of its input is about, and the code to say it with. */
  input: { param: string; code: ErrorCode } = { param: 'input', code: 'invalid_request' },
): Promise<unknown> {
  const { deps, requestId, log } = { deps: c.get('deps'), requestId: c.get('requestId'), log: c.get('log') };
  const timeoutMs = Math.min(
    target.version.limits.timeoutMs ?? deps.config.MODEL_TIMEOUT_MS,
    deps.config.MODEL_TIMEOUT_MS,
  );
  const result = await deps.models.invoke({
    endpointName: target.version.endpointName,
    variant: target.version.variant,
    body,
    timeoutMs,
    requestId,
  });
  if (result.ok) return result.body;
  log.warn({ model: target.served, reason: result.reason, detail: result.detail }, 'model call failed');
  if (result.reason === 'timeout') {
    throw new ApiError(
      'model_timeout',
      `The model ${target.served} did not answer within ${timeoutMs} ms. You were not billed.`,
    );
  }
  if (result.reason === 'rejected') {
    throw new ApiError(
      input.code,
      `The model ${target.served} could not read '${input.param}' (${result.detail.slice(0, 200)}). You were not billed.`,
      { param: input.param },
    );
  }
  if (result.reason === 'busy' || result.reason === 'loading') {
    throw new ApiError(
      result.reason === 'busy' ? 'model_busy' : 'model_loading',
      result.reason === 'busy'
        ? `The model ${target.served} is at capacity. You were not billed; retry after a second.`
        : `The model ${target.served} is loading. You were not billed; retry in a few seconds.`,
      { headers: { 'retry-after': result.reason === 'busy' ? '1' : '5' } },
    );
  }
  if (result.reason === 'unavailable') {
    throw new ApiError(
      'model_unavailable',
      `The model ${target.served} is unavailable right now. You were not billed; try again shortly.`,
    );
  }
  throw new ApiError('model_error', `The model ${target.served} failed to answer. You were not billed.`);
}

/**
 * Writes the usage event and its daily aggregate, once per request id. If the ledger cannot be
 * written the answer is withheld (503): a result is never served without being counted.
 */
export async function meter(
  c: Context<AppEnv>,
  target: Target,
  units: Units,
  latencyMs: number,
): Promise<number> {
  const deps = c.get('deps');
  const principal = c.get('principal');
  const cost = costNanoUsd(units, target.version.prices);
  try {
    await deps.usage.record({
      requestId: c.get('requestId'),
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      model: target.version.model,
      version: target.version.version,
      units,
      costNanoUsd: cost,
      priceBook: target.version.priceBook,
      latencyMs,
      status: 'succeeded',
      at: deps.now().toISOString(),
    });
  } catch (err) {
    throw new ApiError(
      'store_unavailable',
      'Usage could not be recorded, so the result was withheld; you were not billed. Try again.',
      {
        cause: err,
        headers: { 'retry-after': '1' },
      },
    );
  }
  return cost;
}

/** A garbled answer from the model is the model's failure, not the caller's. */
export function modelAnswerInvalid(target: Target, why: string): ApiError {
  return new ApiError(
    'model_error',
    `The model ${target.served} returned an answer the gateway could not read (${why}). You were not billed.`,
  );
}
