import type { ModelHandler } from './model-handler';
import type { EndpointRegistry } from './registry';

/**
 * Every hosted variant's state (`endpoint/variant` -> ready, loading, failed, or unavailable when an
 * optional model's files are not installed). Ready when nothing is loading or failed: a model that
 * is not installed stays so until someone installs it, and says so on every call.
 */
export function registryReadiness(registry: EndpointRegistry): {
  ready: boolean;
  status: 'ok' | 'loading' | 'failed';
  models: Record<string, string>;
} {
  const models: Record<string, string> = {};
  let loading = false;
  let failed = false;
  for (const [name, config] of registry) {
    for (const [variant, handler] of config.variants) {
      const state = handler.unavailable?.() ? 'unavailable' : (handler.readiness?.().state ?? 'ready');
      if (state === 'loading') loading = true;
      if (state === 'failed') failed = true;
      models[`${name}/${variant}`] = state;
    }
  }
  const status = failed ? 'failed' : loading ? 'loading' : 'ok';
  return { ready: status === 'ok', status, models };
}

/**
 * The runtime's answer for a model that cannot serve yet: 400 ValidationError when it is not
 * installed; 429 ModelNotReadyException while it (re)loads, as SageMaker answers it; a model that
 * could not be loaded at all is a model failure.
 */
export function notReadyAnswer(
  endpointName: string,
  variant: string,
  handler: ModelHandler,
): { status: number; errorType: string; message: string; extra?: Record<string, unknown> } | undefined {
  const missing = handler.unavailable?.();
  if (missing) {
    // As SageMaker answers a variant that is not deployed: the gateway tells the caller, once,
    // that retrying will not help (a 429 here would read as "loading" and be retried for ever).
    return {
      status: 400,
      errorType: 'ValidationError',
      message: `Target variant ${variant} of endpoint ${endpointName} is not installed: ${missing}`,
    };
  }
  const readiness = handler.readiness?.();
  if (!readiness || readiness.state === 'ready') return undefined;
  if (readiness.state === 'loading') {
    return {
      status: 429,
      errorType: 'ModelNotReadyException',
      message: `Variant ${variant} of endpoint ${endpointName} is loading its model; retry in a few seconds.`,
    };
  }
  return {
    status: 424,
    errorType: 'ModelError',
    message: `Variant ${variant} of endpoint ${endpointName} failed to load: ${readiness.reason}.`,
    extra: { OriginalStatusCode: 500, OriginalMessage: 'model failed to load' },
  };
}
