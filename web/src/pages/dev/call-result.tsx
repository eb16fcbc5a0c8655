import type { ComponentChildren } from 'preact';
import { ErrorNotice } from '../../components/ui';
import type { ApiFailure } from '../../lib/api';
import { fmtUsd } from '../../lib/format';

export interface CallMeta {
  model?: string;
  requestId?: string | null;
  usage?: Record<string, unknown>;
  deprecation?: string | null;
  sunset?: string | null;
}

/** What the API said about a call: the version that served it, usage and cost, request id. */
export function CallFacts(props: { meta: CallMeta }) {
  const { meta } = props;
  const usage = meta.usage ?? {};
  const input = usage.prompt_tokens ?? usage.input_tokens;
  const output = usage.completion_tokens ?? usage.output_tokens;
  // Only what generates text has an "out": embeddings and sentiment are billed for input alone.
  const tokens =
    typeof output === 'number'
      ? `${input ?? 0} in · ${output} out`
      : typeof input === 'number'
        ? `${input} tokens`
        : typeof usage.images === 'number'
          ? `${usage.images} image${usage.images === 1 ? '' : 's'}`
          : null;
  return (
    <dl class="facts">
      {meta.model && (
        <div>
          <dt>Served by</dt>
          <dd>
            <code>{meta.model}</code>
          </dd>
        </div>
      )}
      {tokens && (
        <div>
          <dt>Usage</dt>
          <dd>{tokens}</dd>
        </div>
      )}
      {typeof usage.cost_usd === 'string' && (
        <div>
          <dt>Cost</dt>
          <dd>{fmtUsd(usage.cost_usd)}</dd>
        </div>
      )}
      {meta.requestId && (
        <div>
          <dt>Request</dt>
          <dd>
            <code>{meta.requestId}</code>
          </dd>
        </div>
      )}
      {meta.deprecation && (
        <div class="facts-warn">
          <dt>Deprecated</dt>
          <dd>This version is deprecated{meta.sunset ? `; it stops answering ${meta.sunset}` : ''}.</dd>
        </div>
      )}
    </dl>
  );
}

export function CallError(props: { error: ApiFailure; children?: ComponentChildren }) {
  return (
    <div class="call-error">
      <ErrorNotice error={props.error} title="The API refused the call" />
      {props.children}
    </div>
  );
}

export function metaFrom(
  res: Response,
  body?: { model?: string; usage?: Record<string, unknown> },
): CallMeta {
  return {
    model: body?.model ?? res.headers.get('x-model-version') ?? undefined,
    requestId: res.headers.get('x-request-id'),
    usage: body?.usage,
    deprecation: res.headers.get('deprecation'),
    sunset: res.headers.get('sunset'),
  };
}
