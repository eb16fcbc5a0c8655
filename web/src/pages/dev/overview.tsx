import { FlatFacts } from '../../components/flat-facts';
import {
  Badge,
  ErrorNotice,
  Link,
  Loading,
  Meter,
  PageHeader,
  Stat,
  Unavailable,
  UpgradeButton,
} from '../../components/ui';
import { UsageFreshnessNote } from '../../components/usage-freshness';
import { get } from '../../lib/api';
import { loadCatalog } from '../../lib/catalog';
import { fmtCompact, fmtInt, fmtUsd, statusLabel, unitLabel } from '../../lib/format';
import { playgroundKey } from '../../lib/key-vault';
import { session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { ApiKey, List, UsageFreshness } from '../../lib/types';
import { loadUsage, NEEDS_KEY } from '../../lib/usage';
import { useResource } from '../../lib/use-resource';
import { rangeOf } from './usage';

/** The banner for an account that is not simply active: a title in words, then what to do. */
const statusNotes: Record<string, { tone: string; title: string; text: string }> = {
  pending_verification: {
    tone: 'warn',
    title: 'Email not verified.',
    text: 'Verify your email address to activate the account: its keys cannot call yet.',
  },
  past_due: {
    tone: 'warn',
    title: 'Payment failed.',
    text: 'Your last payment failed. Update your payment method in Billing to avoid suspension.',
  },
  suspended: {
    tone: 'error',
    title: 'Account suspended.',
    text: 'API calls with its keys are refused. Contact support to reactivate it.',
  },
};

/** Reads included units and caps from the limits answer, whatever its exact nesting. */
function meters(
  limits: Record<string, unknown>,
): { label: string; used: number; limit: number; money: boolean }[] {
  const out: { label: string; used: number; limit: number; money: boolean }[] = [];
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  const effective = obj(limits.effective) ?? limits;
  const included = obj(effective.included) ?? obj(obj(limits.plan)?.included);
  const used = obj(obj(limits.month)?.used) ?? obj(limits.used) ?? obj(limits.usage);
  if (included && used) {
    for (const [unit, limit] of Object.entries(included)) {
      if (typeof limit === 'number' && typeof used[unit] === 'number') {
        out.push({
          label: `Included ${unitLabel[unit] ?? unit}`,
          used: used[unit] as number,
          limit,
          money: false,
        });
      }
    }
  }
  const cap = Number(effective.spend_cap_usd ?? limits.spend_cap_usd ?? Number.NaN);
  const spent = Number(used?.cost_usd ?? limits.spent_usd ?? Number.NaN);
  if (Number.isFinite(cap) && Number.isFinite(spent)) {
    out.push({ label: 'Spend cap this month', used: spent, limit: cap, money: true });
  }
  return out;
}

/** On a plan that stops at its included units: the units used up this month, in words (or null). */
function stoppedAt(limits: Record<string, unknown>): string | null {
  const effective = limits.effective as { overage?: string } | undefined;
  if (effective?.overage !== 'hard_stop') return null;
  const out = meters(limits).filter((m) => !m.money && m.limit >= 0 && m.used >= m.limit);
  return out.length ? out.map((m) => m.label.replace(/^Included /, '')).join(' and ') : null;
}

export default function OverviewPage() {
  const session = useStore(sessionStore);
  const held = useStore(playgroundKey);
  const account = session.status === 'user' ? session.account : null;
  const limits = useResource((signal) => get<Record<string, unknown>>('/account/limits', { signal }), []);
  const month = rangeOf('month');
  const usage = useResource((signal) => loadUsage(month, held?.secret ?? null, signal), [held?.secret]);
  const keys = useResource((signal) => get<List<ApiKey>>('/account/keys', { signal }), []);
  const catalog = useResource((signal) => loadCatalog(held?.secret ?? null, signal), [held?.secret]);
  if (!account) return <Loading />;
  const { tenant, user } = account;
  const note = statusNotes[tenant.status];

  const rows = usage.state === 'ok' ? usage.data.answer.data : [];
  const totals = rows.reduce(
    (t, r) => ({
      requests: t.requests + r.requests,
      tokens: t.tokens + r.input_tokens + r.output_tokens,
      images: t.images + r.images,
      cost: t.cost + Number(r.cost_usd),
    }),
    { requests: 0, tokens: 0, images: 0, cost: 0 },
  );
  // Deprecated versions this month's calls used: they will stop answering at their sunset.
  const deprecated =
    catalog.state === 'ok' && catalog.data
      ? catalog.data.models
          .flatMap((m) => m.versions ?? [])
          .filter((v) => v.status === 'deprecated' && rows.some((r) => `${r.model}@${r.version}` === v.id))
      : [];
  // The month's totals and the included units' use both come from the usage aggregates: one line
  // says how fresh they are (the usage answer's, else the limits').
  const freshness =
    (usage.state === 'ok' ? usage.data.answer.freshness : undefined) ??
    (limits.state === 'ok' ? (limits.data.freshness as UsageFreshness | undefined) : undefined);
  const activeKeys = keys.state === 'ok' ? keys.data.data.filter((k) => k.status === 'active') : [];
  const called = activeKeys.some((k) => k.last_used_at) || totals.requests > 0;
  const steps = [
    { done: tenant.status !== 'pending_verification', text: 'Verify your email', href: null },
    { done: activeKeys.length > 0, text: 'Create an API key', href: '/keys' },
    { done: called, text: 'Make your first call in the playground', href: '/playground' },
  ];

  return (
    <>
      <PageHeader
        title={`Welcome${user.name ? `, ${user.name}` : ''}`}
        description={
          <>
            Account <strong>{tenant.name}</strong> · you are {user.role}
          </>
        }
      />
      {note && (
        <p class={`notice notice-${note.tone}`} role="alert">
          <strong>{note.title}</strong> {note.text}
        </p>
      )}
      {deprecated.length > 0 && (
        <div class="notice notice-warn" role="alert">
          <strong>Deprecated versions in use</strong>
          <ul>
            {deprecated.map((v) => (
              <li key={v.id}>
                <code>{v.id}</code> stops answering {v.sunset_at ? `on ${v.sunset_at.slice(0, 10)}` : 'soon'}
                {v.replacement ? `; move to ${v.replacement}` : ''}.{' '}
                <Link href="/models">Pin another version</Link>
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="stats">
        <Stat
          label="Plan"
          value={
            (limits.state === 'ok' && (limits.data.plan as { name?: string } | undefined)?.name) ||
            statusLabel(tenant.plan)
          }
          sub={
            <>
              <Link href="/billing">Billing</Link> · <Link href="/plans">Plans</Link>
            </>
          }
        />
        <Stat label="Status" value={<Badge status={tenant.status} />} />
        <Stat
          label="Active keys"
          value={keys.state === 'ok' ? fmtInt(activeKeys.length) : '…'}
          sub={<Link href="/keys">Manage keys</Link>}
        />
      </div>

      <section class="card" aria-labelledby="month-title">
        <h2 id="month-title">This month</h2>
        {usage.state === 'loading' && <Loading label="Loading usage…" />}
        {usage.state === 'error' && usage.error.code === NEEDS_KEY && (
          <p class="muted">
            Usage by session is not available on this server yet; choose an API key on the{' '}
            <Link href="/usage">Usage</Link> page to read it with that key.
          </p>
        )}
        {usage.state === 'error' && usage.error.code !== NEEDS_KEY && (
          <ErrorNotice error={usage.error} onRetry={usage.reload} />
        )}
        {usage.state === 'ok' && (
          <div class="stats stats-inline">
            <Stat label="Requests" value={fmtInt(totals.requests)} />
            <Stat label="Tokens" value={fmtCompact(totals.tokens)} />
            <Stat label="Images" value={fmtInt(totals.images)} />
            <Stat
              label="Cost so far"
              value={fmtUsd(totals.cost)}
              sub={<Link href="/usage">Usage details</Link>}
            />
          </div>
        )}
        <h3>Included units and spend cap</h3>
        {limits.state === 'loading' && <Loading />}
        {limits.state === 'unavailable' && (
          <Unavailable feature="Plan limits" endpoint="GET /account/limits" />
        )}
        {limits.state === 'error' && <ErrorNotice error={limits.error} onRetry={limits.reload} />}
        {limits.state === 'ok' && stoppedAt(limits.data) && (
          <div class="notice notice-warn" role="alert">
            <strong>Your plan's included {stoppedAt(limits.data)} are used up.</strong> Requests that need
            more are refused (429 quota_exceeded) until the month ends.{' '}
            <UpgradeButton label="Upgrade to keep going" />
          </div>
        )}
        {limits.state === 'ok' &&
          (meters(limits.data).length ? (
            meters(limits.data).map((m) => (
              <Meter
                key={m.label}
                label={m.label}
                used={m.used}
                limit={m.limit}
                format={m.money ? (n) => fmtUsd(n) : fmtInt}
              />
            ))
          ) : (
            <FlatFacts value={limits.data} skip={['object', 'freshness']} />
          ))}
        <UsageFreshnessNote freshness={freshness} />
      </section>

      <section class="card" aria-labelledby="start-title">
        <h2 id="start-title">Getting started</h2>
        <ol class="checklist">
          {steps.map((s) => (
            <li key={s.text} class={s.done ? 'done' : ''}>
              <span class="check" aria-hidden="true">
                {s.done ? '✓' : ''}
              </span>
              {s.href && !s.done ? <Link href={s.href}>{s.text}</Link> : s.text}
              {s.done && <span class="visually-hidden"> (done)</span>}
            </li>
          ))}
        </ol>
        <p class="hint">
          Then call the API from your code: the <a href="/docs">API reference</a> has every route, and the
          OpenAI SDK works with Tollgate's base URL.
        </p>
      </section>
    </>
  );
}
