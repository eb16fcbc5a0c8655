import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import {
  announce,
  Badge,
  Dialog,
  ErrorNotice,
  Field,
  Link,
  Loading,
  PageHeader,
  Stat,
  Unavailable,
} from '../../components/ui';
import { api, get, post } from '../../lib/api';
import { useCapabilities } from '../../lib/capabilities';
import { fmtDate, fmtDateTime, fmtRelative, statusLabel } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { limitsSummary } from '../../lib/projects';
import type { PageProps } from '../../lib/router';
import type { List, Plan, TenantDetail } from '../../lib/types';
import { useDraft } from '../../lib/use-draft';
import { useResource } from '../../lib/use-resource';
import { TenantLimits } from './tenant-limits';
import { TenantUsage } from './tenant-usage';

function StatusDialog(props: {
  mode: 'suspend' | 'reactivate' | null;
  tenant: TenantDetail['tenant'];
  onClose: () => void;
  onDone: () => void;
}) {
  const [reason, setReason] = useState('');
  const form = useSubmit(async () => {
    if (!props.mode) return;
    await post(
      `/admin/tenants/${props.tenant.id}/${props.mode}`,
      reason.trim() ? { reason: reason.trim() } : {},
    );
    announce(
      props.mode === 'suspend' ? `${props.tenant.name} suspended.` : `${props.tenant.name} reactivated.`,
    );
    setReason('');
    props.onDone();
    props.onClose();
  });
  const suspend = props.mode === 'suspend';
  return (
    <Dialog
      open={!!props.mode}
      title={suspend ? 'Suspend this tenant?' : 'Reactivate this tenant?'}
      onClose={props.onClose}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
      >
        <p>
          {suspend
            ? `Every API key of ${props.tenant.name} is refused with 403 tenant_inactive within seconds. Its data and keys are kept.`
            : `${props.tenant.name}'s keys work again within seconds.`}
        </p>
        <Field label="Reason (kept in the audit log)" id="status-reason" error={form.fieldError('reason')}>
          {(a) => <textarea {...a} rows={2} value={reason} onInput={(e) => setReason(value(e))} />}
        </Field>
        {form.error && form.error.param !== 'reason' && <ErrorNotice error={form.error} />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={`btn ${suspend ? 'btn-danger' : 'btn-primary'}`} disabled={form.busy}>
            {suspend ? 'Suspend tenant' : 'Reactivate tenant'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function PlanForm(props: { tenant: TenantDetail['tenant']; plans: Plan[]; onDone: () => void }) {
  const [plan, setPlan] = useDraft(props.tenant.plan, (p) => p);
  const form = useSubmit(async () => {
    await api('PATCH', `/admin/tenants/${props.tenant.id}`, { body: { plan } });
    announce(`Plan changed to ${props.plans.find((p) => p.id === plan)?.name ?? plan}.`);
    props.onDone();
  });
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void form.run();
      }}
    >
      <Field label="Plan" id="tenant-plan" error={form.fieldError('plan')}>
        {(a) => (
          <select {...a} value={plan} onChange={(e) => setPlan(value(e))}>
            {props.plans.length === 0 && <option value={props.tenant.plan}>{props.tenant.plan}</option>}
            {props.plans.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.id})
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" class="btn" disabled={form.busy || plan === props.tenant.plan}>
        Change plan
      </button>
      {form.error && form.error.param !== 'plan' && <ErrorNotice error={form.error} />}
    </form>
  );
}

export default function TenantDetailPage(props: PageProps) {
  const id = props.params.id!;
  const caps = useCapabilities();
  const detail = useResource(
    (signal) => get<TenantDetail>(`/admin/tenants/${encodeURIComponent(id)}`, { signal }),
    [id],
  );
  const plansList = useResource((signal) => get<List<Plan>>('/admin/plans', { signal }), []);
  const [statusMode, setStatusMode] = useState<'suspend' | 'reactivate' | null>(null);
  if (detail.state === 'loading' && !detail.data) return <Loading label="Loading the tenant…" />;
  if (detail.state === 'error' && !detail.data) {
    return (
      <>
        <PageHeader title="Tenant" />
        <ErrorNotice error={detail.error} onRetry={detail.reload} />
        <Link href="/operator/tenants">Back to tenants</Link>
      </>
    );
  }
  if (detail.state === 'unavailable' || !('data' in detail) || !detail.data) return null;
  const { tenant, members, keys, invitations, projects } = detail.data;
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? id;
  const plans = plansList.state === 'ok' ? plansList.data.data : [];
  const planName = plans.find((p) => p.id === tenant.plan)?.name ?? statusLabel(tenant.plan);
  const limitsRoute = ['/admin/tenants/{tenant_id}/limits'].find(
    (p) => caps.has('put', p) || caps.has('patch', p),
  );
  return (
    <>
      <p class="breadcrumb">
        <Link href="/operator/tenants">Tenants</Link> / <span>{tenant.name}</span>
      </p>
      <PageHeader
        title={tenant.name}
        description={
          <>
            <code>{tenant.id}</code> · created {fmtDate(tenant.created_at)}
          </>
        }
        actions={
          tenant.status === 'suspended' ? (
            <button type="button" class="btn btn-primary" onClick={() => setStatusMode('reactivate')}>
              Reactivate
            </button>
          ) : (
            <button type="button" class="btn btn-danger" onClick={() => setStatusMode('suspend')}>
              Suspend
            </button>
          )
        }
      />
      <div class="stats">
        <Stat
          label="Status"
          value={<Badge status={tenant.status} />}
          sub={tenant.status === 'past_due' ? 'Payment failed' : undefined}
        />
        <Stat label="Plan" value={planName} />
        <Stat label="Members" value={String(members.length)} />
        <Stat label="Active keys" value={String(keys.filter((k) => k.status === 'active').length)} />
      </div>
      <section class="card" aria-labelledby="plan-title">
        <h2 id="plan-title">Plan and limits</h2>
        <PlanForm tenant={tenant} plans={plans} onDone={detail.reload} />
        <h3 id="overrides-title">Limit overrides</h3>
        {limitsRoute ? (
          <TenantLimits tenantId={tenant.id} key={`${tenant.id}-${tenant.plan}`} />
        ) : (
          <Unavailable feature="Limit overrides" endpoint="PATCH /admin/tenants/{tenant_id}/limits" />
        )}
      </section>
      <section class="card" aria-labelledby="tusage-title">
        <h2 id="tusage-title">Usage and cost this month</h2>
        <TenantUsage tenantId={tenant.id} />
      </section>
      <section class="card" aria-labelledby="tprojects-title">
        <h2 id="tprojects-title">Projects</h2>
        <Table caption="Projects" captionHidden columns={['Project', 'Keys', 'Limits', 'Created']}>
          {projects.map((p) => (
            <tr key={p.id}>
              <th scope="row">
                {p.name} {p.default && <span class="badge badge-info">default</span>}
                {p.archived_at && <Badge status="archived" />}
                <div class="muted">{p.id}</div>
              </th>
              <td>{keys.filter((k) => k.project_id === p.id && k.status === 'active').length} active</td>
              <td>{limitsSummary(p)}</td>
              <td>{fmtDate(p.created_at)}</td>
            </tr>
          ))}
        </Table>
      </section>
      <section class="card" aria-labelledby="tkeys-title">
        <h2 id="tkeys-title">API keys</h2>
        {keys.length === 0 ? (
          <p class="muted">No keys.</p>
        ) : (
          <Table
            caption="API keys (secrets are never stored)"
            captionHidden
            columns={['Name', 'Project', 'Key', 'Status', 'Created', 'Last used']}
          >
            {keys.map((k) => (
              <tr key={k.id}>
                <th scope="row">{k.name}</th>
                <td>{projectName(k.project_id)}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>
                  <Badge status={k.status} />
                </td>
                <td>{fmtDate(k.created_at)}</td>
                <td>{fmtRelative(k.last_used_at)}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section class="card" aria-labelledby="tmembers-title">
        <h2 id="tmembers-title">Members</h2>
        <Table caption="Members" captionHidden columns={['Email', 'Name', 'Role', 'Joined']}>
          {members.map((m) => (
            <tr key={m.user_id}>
              <th scope="row">{m.email}</th>
              <td>{m.name ?? '—'}</td>
              <td>{m.role}</td>
              <td>{fmtDateTime(m.joined_at)}</td>
            </tr>
          ))}
          {invitations.map((i) => (
            <tr key={i.id}>
              <th scope="row">{i.email}</th>
              <td class="muted">invited</td>
              <td>{i.role}</td>
              <td>
                <Badge status={i.status} />
              </td>
            </tr>
          ))}
        </Table>
      </section>
      <StatusDialog
        mode={statusMode}
        tenant={tenant}
        onClose={() => setStatusMode(null)}
        onDone={detail.reload}
      />
    </>
  );
}
