import type { Context } from 'hono';
import type { ModelTask, ModelVersion } from '../../shared/catalog/types';
import { ApiError } from '../../shared/errors';
import { costNanoUsd, type Units } from '../../shared/metering/pricing';
import type { ModelCallResult } from '../../shared/models/model-client';
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
 * Resolves the body's `model` to a version of a model that does `task`. Unknown names, versions
 * and aliases, retired versions and models of another task are 400s with `param: "model"`.
 */
export async function resolveTarget(c: Context<AppEnv>, ref: string, task: ModelTask): Promise<Target> {
  const r = await c.get('deps').resolver.resolve(ref);
  if (!r.ok) {
    const message =
      r.reason === 'unknown_model'
        ? `The model '${r.model}' does not exist. GET /v1/models lists the models you can use.`
        : r.reason === 'unknown_version'
          ? `The model '${r.model}' has no version or alias '${r.version}'.`
          : `Version '${r.version}' of '${r.model}' is retired; use '${r.model}@${r.replacement}' instead.`;
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
  return { version: r.version, served };
}

/** The version's timeout, never above the platform's. */
export function modelTimeoutMs(c: Context<AppEnv>, target: Target): number {
  const max = c.get('deps').config.MODEL_TIMEOUT_MS;
  return Math.min(target.version.limits.timeoutMs ?? max, max);
}

/** Calls the version's endpoint and variant; failures become 502/504 and nothing is billed. */
export async function invokeModel(
  c: Context<AppEnv>,
  target: Target,
  body: unknown,
  opts: { rejectedParam?: string } = {},
): Promise<unknown> {
  const { deps, requestId } = { deps: c.get('deps'), requestId: c.get('requestId') };
  const timeoutMs = modelTimeoutMs(c, target);
  const result = await deps.models.invoke({
    endpointName: target.version.endpointName,
    variant: target.version.variant,
    body,
    timeoutMs,
    requestId,
  });
  if (result.ok) return result.body;
  throw modelCallFailed(c, target, result, timeoutMs, opts.rejectedParam);
}

/**
 * The error for a model call that failed before answering. A request the model itself refused
 * (its own 400: a prompt longer than the version accepts) is the caller's 400, naming `param`.
 */
export function modelCallFailed(
  c: Context<AppEnv>,
  target: Target,
  result: Pick<Extract<ModelCallResult, { ok: false }>, 'reason' | 'detail'>,
  timeoutMs: number,
  rejectedParam?: string,
): ApiError {
  const log = c.get('log');
  if (result.reason === 'rejected') {
    return new ApiError('invalid_request', result.detail, { param: rejectedParam ?? null });
  }
  log.warn({ model: target.served, reason: result.reason, detail: result.detail }, 'model call failed');
  if (result.reason === 'timeout') {
    return new ApiError(
      'model_timeout',
      `The model ${target.served} did not answer within ${timeoutMs} ms. You were not billed.`,
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
