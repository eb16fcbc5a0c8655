import { contextText, latencyText, priceText, VersionSampleView } from '../../components/model-facts';
import { Table } from '../../components/table';
import { Badge, ErrorNotice, Link, Loading } from '../../components/ui';
import { get } from '../../lib/api';
import { fmtInt, fmtUsd, unitLabel } from '../../lib/format';
import type { Plan, Pricing } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

/** "1,000,000 input tokens, 200,000 output tokens, 500 images". */
function includedText(p: Plan): string {
  const parts = Object.entries(p.included ?? {})
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([unit, n]) => `${fmtInt(n as number)} ${unitLabel[unit] ?? unit}`);
  return parts.length ? parts.join(', ') : 'Nothing included';
}

function beyondText(p: Plan): string {
  if (p.overage === 'hard_stop') return 'Calls stop until next month (no charge)';
  return p.spend_cap_usd
    ? `Billed per unit, up to a ${fmtUsd(p.spend_cap_usd)} monthly cap you can lower`
    : 'Billed per unit';
}

function limitsText(p: Plan): string {
  const parts = [
    p.requests_per_minute != null && `${fmtInt(p.requests_per_minute)} requests/min`,
    p.tokens_per_minute != null && `${fmtInt(p.tokens_per_minute)} tokens/min`,
    p.max_concurrent != null && `${fmtInt(p.max_concurrent)} at once`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'No fixed limits';
}

/** Plans and every model's prices and cards, without a login (GET /public/pricing). */
export default function PricingPage() {
  const pricing = useResource((signal) => get<Pricing>('/public/pricing', { signal }), []);
  return (
    <div class="pricing">
      <h1 tabIndex={-1} id="page-title">
        Pricing
      </h1>
      <p class="muted">
        Pay for what you call: tokens in and out, or images, at each model version's price. Every plan
        includes units each month; usage and cost are shown on every answer and in the console.
      </p>
      <p>
        <Link href="/signup" class="btn btn-primary">
          Sign up free
        </Link>{' '}
        <Link href="/login" class="btn btn-ghost">
          Log in
        </Link>
      </p>
      {pricing.state === 'loading' && <Loading label="Loading prices…" />}
      {pricing.state === 'error' && <ErrorNotice error={pricing.error} onRetry={pricing.reload} />}
      {pricing.state === 'ok' && (
        <>
          <h2>Plans</h2>
          <Table
            caption="Plans"
            captionHidden
            columns={['Plan', 'Included each month', 'Beyond that', 'Limits']}
          >
            {pricing.data.plans.map((p) => (
              <tr key={p.id}>
                <th scope="row">{p.name}</th>
                <td>{includedText(p)}</td>
                <td>{beyondText(p)}</td>
                <td>{limitsText(p)}</td>
              </tr>
            ))}
          </Table>
          <h2>Models</h2>
          <p class="hint">
            Call a model by name for its default version, or by <code>name@version</code> to stay on one.
            Latency is measured at the gateway over the last days; a sample shows each version's request and
            answer.
          </p>
          {pricing.data.models.map((m) => (
            <section key={m.id} class="model-card pricing-model" aria-labelledby={`pricing-${m.id}`}>
              <h3 id={`pricing-${m.id}`}>
                <code>{m.id}</code> <span class="badge badge-muted">{m.task}</span>
              </h3>
              <p class="muted">{m.description}</p>
              <Table
                caption={`Versions of ${m.id}`}
                captionHidden
                columns={['Version', 'Price', 'Context', 'Typical latency']}
              >
                {m.versions.map((v) => (
                  <tr key={v.id}>
                    <th scope="row">
                      <code>{v.id}</code>
                      {v.version === m.default_version && <span class="badge badge-info">default</span>}
                      {v.status !== 'active' && <Badge status={v.status} />}
                      <VersionSampleView version={v} />
                    </th>
                    <td>
                      {v.prices.map((p) => (
                        <div key={p.unit}>{priceText(p)}</div>
                      ))}
                    </td>
                    <td>{contextText(v)}</td>
                    <td>{latencyText(v)}</td>
                  </tr>
                ))}
              </Table>
            </section>
          ))}
        </>
      )}
    </div>
  );
}
