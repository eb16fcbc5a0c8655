import { fmtInt, fmtUsd, unitLabel } from '../lib/format';
import type { CatalogVersion } from '../lib/types';
import { ViewCode } from './view-code';

/** What a model card says of a version: price, context, latency and a sample (console and pricing page). */

/** "$0.10 per 1M input tokens", "$0.0005 per image". */
export function priceText(p: { unit: string; usd: string; per: number }): string {
  const unit = unitLabel[p.unit] ?? p.unit;
  if (p.per === 1) return `${fmtUsd(p.usd)} per ${unit.replace(/s$/, '')}`;
  const per = p.per === 1_000_000 ? '1M' : p.per.toLocaleString('en-US');
  return `${fmtUsd(p.usd)} per ${per} ${unit}`;
}

/** "8,192 tokens", with the output bound for chat. */
export function contextText(v: CatalogVersion): string {
  if (v.context_window == null) return '—';
  const window = `${fmtInt(v.context_window)} tokens`;
  return v.max_output_tokens == null ? window : `${window}, up to ${fmtInt(v.max_output_tokens)} out`;
}

/** "p50 212 ms, p90 480 ms (1,204 calls, 7 days)", or why there is none. */
export function latencyText(v: CatalogVersion): string {
  const l = v.typical_latency_ms;
  if (!l) return 'Not measured yet';
  const ms = (n: number | null) => (n === null ? '—' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);
  return `p50 ${ms(l.p50)}, p90 ${ms(l.p90)} (${fmtInt(l.requests)} calls, ${l.days} days)`;
}

/** The card's sample: the request as code, and the answer it gets (illustrative text, exact cost). */
export function VersionSampleView(props: { version: CatalogVersion }) {
  const sample = props.version.sample;
  if (!sample) return null;
  const id = `sample-${props.version.id.replace(/[^a-z0-9-]/gi, '-')}`;
  return (
    <details class="version-sample">
      <summary>Sample request and answer</summary>
      <ViewCode id={id} label="Request as code" request={{ path: sample.path, body: sample.request }} />
      <p class="hint">
        The answer, in this version's format, with the cost of its usage at these prices (its text is an
        example):
      </p>
      <pre class="code-block">{JSON.stringify(sample.response, null, 2)}</pre>
    </details>
  );
}
