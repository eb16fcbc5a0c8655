import { ApiError } from '../errors';
import { inRanges } from '../http/cidr';
import type { KeyEndpoint, KeyScope } from './key-scope';

/**
 * How a key's scope (key-scope.ts) is enforced: which endpoint a `/v1` call is, whether it is a
 * read, and which versions of a model a key may be served. Every refusal is a 403 whose code names
 * the scope, raised before the call is admitted (nothing reserved, nothing billed).
 */

/** The endpoint a `/v1` path belongs to; null for the reads every key may make (models, usage). */
export function endpointOf(path: string): KeyEndpoint | null {
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  if (under('/v1/chat')) return 'chat';
  if (under('/v1/embeddings')) return 'embeddings';
  if (under('/v1/text')) return 'text';
  if (under('/v1/images')) return 'images';
  if (under('/v1/files') || under('/v1/batches')) return 'batch';
  return null;
}

/** Reads: what a read-only key may do (list models, read usage, read its batches and files). */
export function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/**
 * The refusal of a call by its method, path and address; null when the key may make it. The order
 * is the address first (a key used from elsewhere learns nothing more), then read-only, then the
 * endpoint. `address: false` skips the allowlist: a batch's lines run in the worker, as the key
 * that created the batch from an allowed address, with no caller of their own.
 */
export function callRefusal(
  scope: KeyScope | undefined,
  call: { method: string; path: string; address: string | null | false },
): ApiError | null {
  if (!scope) return null;
  if (call.address !== false && scope.ipAllowlist && scope.ipAllowlist.length > 0) {
    if (call.address === null) {
      return new ApiError(
        'ip_not_in_key_allowlist',
        'This API key may only be used from its allowed IP ranges, and the address of this request is not known.',
      );
    }
    if (!inRanges(call.address, scope.ipAllowlist)) {
      return new ApiError(
        'ip_not_in_key_allowlist',
        `This API key may not be used from ${call.address}: it is outside the key's allowed IP ranges.`,
      );
    }
  }
  const endpoint = endpointOf(call.path);
  if (scope.readOnly && !isRead(call.method)) {
    return new ApiError(
      'key_read_only',
      `This API key is read-only: it may list models and read usage${endpoint === 'batch' ? ', files and batches' : ''}, not ${call.method} ${call.path}.`,
    );
  }
  if (endpoint && scope.endpoints && scope.endpoints.length > 0 && !scope.endpoints.includes(endpoint)) {
    return endpointRefusal(scope, endpoint);
  }
  return null;
}

export function endpointRefusal(scope: KeyScope, endpoint: KeyEndpoint, param?: string): ApiError {
  return new ApiError(
    'endpoint_not_in_key_scope',
    `This API key may not use the ${endpoint} endpoints; it may use: ${(scope.endpoints ?? []).join(', ')}.`,
    param ? { param } : {},
  );
}

/**
 * Which versions of `model` the scope allows: `all` (the scope names the model, or has no model
 * list), the versions it names (`name@version` entries, in the scope's order), or `none`.
 */
export function versionsAllowed(scope: KeyScope | undefined, model: string): 'all' | 'none' | string[] {
  const models = scope?.models;
  if (!models || models.length === 0) return 'all';
  if (models.includes(model)) return 'all';
  const versions = models.filter((m) => m.startsWith(`${model}@`)).map((m) => m.slice(model.length + 1));
  return versions.length > 0 ? versions : 'none';
}

/** Whether the key may be served `model@version`. */
export function versionAllowed(scope: KeyScope | undefined, model: string, version: string): boolean {
  const allowed = versionsAllowed(scope, model);
  return allowed === 'all' || (allowed !== 'none' && allowed.includes(version));
}

export function modelRefusal(scope: KeyScope, asked: string, served?: string, param = 'model'): ApiError {
  const list = (scope.models ?? []).join(', ');
  const what = served && served !== asked ? `'${asked}' (served by ${served})` : `'${asked}'`;
  return new ApiError('model_not_in_key_scope', `This API key may not call ${what}; it may call: ${list}.`, {
    param,
  });
}

/** Whether the scope restricts anything at all (an empty scope is stored as none). */
export function isEmptyScope(scope: KeyScope | null | undefined): boolean {
  return (
    !scope ||
    ((scope.models ?? []).length === 0 &&
      (scope.endpoints ?? []).length === 0 &&
      !scope.readOnly &&
      (scope.ipAllowlist ?? []).length === 0)
  );
}
