import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import { Badge, Empty, ErrorNotice, Loading, PageHeader } from '../../components/ui';
import { get } from '../../lib/api';
import { fmtDate, fmtRelative, keyLabel } from '../../lib/format';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import type { ApiKey, List, Project } from '../../lib/types';
import { useResource } from '../../lib/use-resource';
import { RevokeDialog, RotateDialog } from './key-actions';

import { CreateKeyDialog } from './key-create';
import { EditLimitsDialog, limitsText } from './key-limits';
import { EditScopeDialog, scopeText } from './key-scope';
export default function KeysPage() {
  const session = useStore(sessionStore);
  const keys = useResource((signal) => get<List<ApiKey>>('/account/keys', { signal }), []);
  const projectList = useResource((signal) => get<List<Project>>('/account/projects', { signal }), []);
  const projects = projectList.state === 'ok' ? projectList.data.data : [];
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? id;
  const [projectFilter, setProjectFilter] = useState('');
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [limiting, setLimiting] = useState<ApiKey | null>(null);
  const [scoping, setScoping] = useState<ApiKey | null>(null);
  // Tenant-wide, or in a project where the member is an owner or developer (docs/projects.md).
  const mayManage =
    can(session, 'keys:manage') ||
    projects.some((p) => p.your_role === 'owner' || p.your_role === 'developer');
  const mayLimit = can(session, 'limits:manage');
  const allKeys =
    keys.state === 'ok' || keys.state === 'loading' || keys.state === 'error' ? keys.data?.data : undefined;
  const data = projectFilter ? allKeys?.filter((k) => k.project_id === projectFilter) : allKeys;
  // A rotated key keeps its name; the row says which secret replaced it.
  const successor = (k: ApiKey) => (k.rotated_to ? allKeys?.find((x) => x.id === k.rotated_to) : undefined);
  const suspended =
    session.status === 'user' &&
    session.account.tenant.status !== 'active' &&
    session.account.tenant.status !== 'past_due';
  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys call the models under /v1. Their secrets are shown once, when created or rotated."
        actions={
          mayManage && (
            <button
              type="button"
              class="btn btn-primary"
              onClick={() => setCreating(true)}
              disabled={suspended}
            >
              Create key
            </button>
          )
        }
      />
      {suspended && (
        <p class="notice notice-warn">
          This account is not active, so new keys cannot be made and existing ones are refused.
        </p>
      )}
      {projects.length > 1 && (
        <div class="filters">
          <label for="keys-project">Project</label>{' '}
          <select
            id="keys-project"
            value={projectFilter}
            onChange={(e) => setProjectFilter(e.currentTarget.value)}
          >
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      )}
      {keys.state === 'loading' && !data && <Loading label="Loading keys…" />}
      {keys.state === 'error' && <ErrorNotice error={keys.error} onRetry={keys.reload} />}
      {data && data.length === 0 && (
        <Empty
          title="No API keys yet"
          action={
            mayManage && (
              <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
                Create your first key
              </button>
            )
          }
        >
          Create a key, then call the API with it from curl, the OpenAI SDK or the playground.
        </Empty>
      )}
      {data && data.length > 0 && (
        <Table
          caption="Your API keys"
          captionHidden
          columns={[
            'Name',
            'Project',
            'Key',
            'Status',
            'Scope',
            'Limits',
            'Created',
            'Last used',
            'Expires',
            mayManage && { label: 'Actions', hidden: true },
          ]}
        >
          {data.map((k) => (
            <tr key={k.id}>
              <th scope="row">{k.name}</th>
              <td>{projectName(k.project_id)}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>
                <Badge status={k.status} />
                {k.rotated_to && k.status === 'active' && (
                  <span class="hint">
                    {' '}
                    rotated
                    {successor(k) && (
                      <>
                        {' '}
                        to <code>{successor(k)!.prefix}…</code>
                      </>
                    )}
                  </span>
                )}
              </td>
              <td class="muted">{scopeText(k.scope)}</td>
              <td class="muted">{limitsText(k.limits)}</td>
              <td>{fmtDate(k.created_at)}</td>
              <td>{fmtRelative(k.last_used_at)}</td>
              <td>{k.expires_at ? fmtDate(k.expires_at) : 'Never'}</td>
              {mayManage && (
                <td class="row-actions">
                  {k.status === 'active' && mayLimit && (
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => setLimiting(k)}
                      aria-label={`Edit the limits of ${keyLabel(k)}`}
                    >
                      Limits
                    </button>
                  )}
                  {k.status === 'active' && (
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => setScoping(k)}
                      aria-label={`Edit the scope of ${keyLabel(k)}`}
                    >
                      Scope
                    </button>
                  )}
                  {k.status === 'active' && !k.rotated_to && (
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => setRotating(k)}
                      aria-label={`Rotate ${keyLabel(k)}`}
                    >
                      Rotate
                    </button>
                  )}
                  {k.status === 'active' && (
                    <button
                      type="button"
                      class="btn btn-small btn-danger-ghost"
                      onClick={() => setRevoking(k)}
                      aria-label={`Revoke ${keyLabel(k)}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={keys.reload}
        mayLimit={mayLimit}
        projects={projects.filter(
          (p) => !p.archived_at && (p.your_role === 'owner' || p.your_role === 'developer'),
        )}
        project={projectFilter}
      />
      <RevokeDialog apiKey={revoking} onClose={() => setRevoking(null)} onDone={keys.reload} />
      <RotateDialog apiKey={rotating} onClose={() => setRotating(null)} onDone={keys.reload} />
      <EditLimitsDialog apiKey={limiting} onClose={() => setLimiting(null)} onDone={keys.reload} />
      <EditScopeDialog apiKey={scoping} onClose={() => setScoping(null)} onDone={keys.reload} />
    </>
  );
}
