import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import { announce, Badge, Dialog, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { type ApiFailure, api, get, post } from '../../lib/api';
import { fmtDate } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { limitsSummary } from '../../lib/projects';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { type List, type Project, type ProjectMember, type ProjectRole, projectRoles } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

/** A project's limits as the form edits them: text fields, empty = none. */
interface LimitsDraft {
  rpm: string;
  tpm: string;
  budget: string;
  mode: 'hard_stop' | 'alert_only';
}

const emptyLimits: LimitsDraft = { rpm: '', tpm: '', budget: '', mode: 'hard_stop' };

function draftOf(p: Project): LimitsDraft {
  const l = p.limits;
  return {
    rpm: l?.requests_per_minute?.toString() ?? '',
    tpm: l?.tokens_per_minute?.toString() ?? '',
    budget: l?.monthly_budget_usd ? String(Number(l.monthly_budget_usd)) : '',
    mode: l?.budget_mode ?? 'hard_stop',
  };
}

/** The API's `limits` from a draft (numbers where the field is not empty), or null for none. */
function limitsOf(d: LimitsDraft) {
  const out: Record<string, unknown> = {};
  if (d.rpm.trim()) out.requests_per_minute = Number(d.rpm);
  if (d.tpm.trim()) out.tokens_per_minute = Number(d.tpm);
  if (d.budget.trim()) {
    out.monthly_budget_usd = Number(d.budget);
    out.budget_mode = d.mode;
  }
  return Object.keys(out).length ? out : null;
}

function LimitFields(props: {
  draft: LimitsDraft;
  onChange: (d: LimitsDraft) => void;
  error: ApiFailure | null;
}) {
  const { draft, onChange } = props;
  const err = (f: string) => (props.error?.param === `limits.${f}` ? props.error.message : null);
  return (
    <>
      <Field
        label="Requests per minute"
        id="project-rpm"
        hint="Empty: the account’s."
        error={err('requests_per_minute')}
      >
        {(a) => (
          <input
            {...a}
            inputMode="numeric"
            value={draft.rpm}
            onInput={(e) => onChange({ ...draft, rpm: value(e) })}
          />
        )}
      </Field>
      <Field
        label="Tokens per minute"
        id="project-tpm"
        hint="Empty: the account’s."
        error={err('tokens_per_minute')}
      >
        {(a) => (
          <input
            {...a}
            inputMode="numeric"
            value={draft.tpm}
            onInput={(e) => onChange({ ...draft, tpm: value(e) })}
          />
        )}
      </Field>
      <Field
        label="Monthly budget (USD)"
        id="project-budget"
        hint="At most the account’s spend cap. Empty: none."
        error={err('monthly_budget_usd')}
      >
        {(a) => (
          <input
            {...a}
            inputMode="decimal"
            value={draft.budget}
            onInput={(e) => onChange({ ...draft, budget: value(e) })}
          />
        )}
      </Field>
      <Field label="When the budget is reached" id="project-budget-mode" error={err('budget_mode')}>
        {(a) => (
          <select
            {...a}
            value={draft.mode}
            disabled={!draft.budget.trim()}
            onChange={(e) => onChange({ ...draft, mode: value(e) as LimitsDraft['mode'] })}
          >
            <option value="hard_stop">Stop: refuse calls (hard stop)</option>
            <option value="alert_only">Only alert</option>
          </select>
        )}
      </Field>
    </>
  );
}

function otherError(error: ApiFailure | null, fields: string[]): ApiFailure | null {
  if (!error) return null;
  return error.param && (fields.includes(error.param) || error.param.startsWith('limits.')) ? null : error;
}

function CreateProjectDialog(props: { open: boolean; onClose: () => void; onCreated: (p: Project) => void }) {
  const [name, setName] = useState('');
  const [draft, setDraft] = useState<LimitsDraft>(emptyLimits);
  const form = useSubmit(async () => {
    const limits = limitsOf(draft);
    const project = await post<Project>('/account/projects', { name, ...(limits ? { limits } : {}) });
    announce(`Project “${project.name}” created.`);
    setName('');
    setDraft(emptyLimits);
    props.onCreated(project);
    props.onClose();
  });
  const other = otherError(form.error, ['name']);
  return (
    <Dialog open={props.open} title="Create a project" onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Name" id="project-name" error={form.fieldError('name')}>
          {(a) => <input {...a} required value={name} onInput={(e) => setName(value(e))} />}
        </Field>
        <fieldset class="fieldset">
          <legend>Limits and budget (optional)</legend>
          <LimitFields draft={draft} onChange={setDraft} error={form.error} />
        </fieldset>
        {other && <ErrorNotice error={other} title="Could not create the project" />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={form.busy || !name.trim()}>
            {form.busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MembersTable(props: { project: Project; manage: boolean }) {
  const { project } = props;
  const members = useResource(
    (signal) => get<List<ProjectMember>>(`/account/projects/${project.id}/members`, { signal }),
    [project.id],
  );
  const change = useSubmit(async (m: ProjectMember, role: ProjectRole | '') => {
    if (role === '') {
      await api('DELETE', `/account/projects/${project.id}/members/${m.user_id}`);
      announce(`${m.email} has their account role in ${project.name} again.`);
    } else {
      await api('PUT', `/account/projects/${project.id}/members/${m.user_id}`, { body: { role } });
      announce(`${m.email} is now ${role} in ${project.name}.`);
    }
    members.reload();
  });
  if (members.state === 'loading') return <Loading label="Loading members…" />;
  if (members.state !== 'ok') return <ErrorNotice error={members.error} onRetry={members.reload} />;
  const editable = props.manage && !project.archived_at;
  return (
    <>
      {change.error && <ErrorNotice error={change.error} />}
      <Table
        caption={`Members of ${project.name}`}
        columns={['Member', 'Account role', 'Role in this project', 'Can']}
      >
        {members.data.data.map((m) => (
          <tr key={m.user_id}>
            <th scope="row">
              {m.name ?? m.email}
              {m.name && <div class="muted">{m.email}</div>}
            </th>
            <td>{m.tenant_role}</td>
            <td>
              {editable && m.tenant_role !== 'owner' ? (
                <>
                  <label class="visually-hidden" for={`project-role-${m.user_id}`}>
                    Role of {m.email} in {project.name}
                  </label>
                  <select
                    id={`project-role-${m.user_id}`}
                    value={m.project_role ?? ''}
                    disabled={change.busy}
                    onChange={(e) => void change.run(m, value(e) as ProjectRole | '')}
                  >
                    <option value="">(account role)</option>
                    {projectRoles.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </>
              ) : (
                (m.project_role ?? <span class="muted">(account role)</span>)
              )}
            </td>
            <td>{m.effective_role ?? <span class="muted">no project rights</span>}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}

function ProjectDetail(props: { project: Project; mayArchive: boolean; onChanged: (p: Project) => void }) {
  const { project } = props;
  const manage = project.your_role === 'owner';
  const [name, setName] = useState(project.name);
  const [draft, setDraft] = useState<LimitsDraft>(draftOf(project));
  const [archiving, setArchiving] = useState(false);
  const save = useSubmit(async () => {
    const updated = await api<Project>('PATCH', `/account/projects/${project.id}`, {
      body: { name, limits: limitsOf(draft) },
    });
    announce(`Project “${updated.name}” saved.`);
    props.onChanged(updated);
  });
  const archive = useSubmit(async () => {
    const updated = await post<Project>(`/account/projects/${project.id}/archive`, {});
    announce(`Project “${updated.name}” archived; its keys are revoked.`);
    setArchiving(false);
    props.onChanged(updated);
  });
  const other = otherError(save.error, ['name']);
  return (
    <section class="panel" aria-labelledby="project-detail-title" data-testid="project-detail">
      <h2 id="project-detail-title">
        {project.name} {project.default && <span class="badge badge-info">default</span>}
        {project.archived_at && <Badge status="archived" />}
      </h2>
      <p class="hint">
        Your role here: <strong>{project.your_role ?? 'none'}</strong>. Keys made in this project stay in it.
      </p>
      {manage && !project.archived_at ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
          noValidate
        >
          <Field label="Project name" id="project-rename" error={save.fieldError('name')}>
            {(a) => <input {...a} required value={name} onInput={(e) => setName(value(e))} />}
          </Field>
          <fieldset class="fieldset">
            <legend>Limits and budget, inside the account’s</legend>
            <LimitFields draft={draft} onChange={setDraft} error={save.error} />
          </fieldset>
          {other && <ErrorNotice error={other} title="Could not save the project" />}
          <div class="dialog-actions">
            {props.mayArchive && !project.default && (
              <button type="button" class="btn btn-danger-ghost" onClick={() => setArchiving(true)}>
                Archive project
              </button>
            )}
            <button type="submit" class="btn btn-primary" disabled={save.busy || !name.trim()}>
              {save.busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </form>
      ) : (
        <p>Limits: {limitsSummary(project)}.</p>
      )}
      <MembersTable project={project} manage={manage} />
      <Dialog open={archiving} title="Archive this project?" onClose={() => setArchiving(false)}>
        <p>
          Every key of {project.name} is revoked at once. Its usage history stays, and it takes no new key or
          change.
        </p>
        {archive.error && <ErrorNotice error={archive.error} />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={() => setArchiving(false)}>
            Cancel
          </button>
          <button
            type="button"
            class="btn btn-danger"
            disabled={archive.busy}
            onClick={() => void archive.run()}
          >
            Archive and revoke its keys
          </button>
        </div>
      </Dialog>
    </section>
  );
}

export default function ProjectsPage() {
  const session = useStore(sessionStore);
  const projects = useResource((signal) => get<List<Project>>('/account/projects', { signal }), []);
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const mayCreate = can(session, 'projects:manage');
  const list = projects.state === 'ok' ? projects.data.data : null;
  const current = list?.find((p) => p.id === selected) ?? null;
  return (
    <>
      <PageHeader
        title="Projects"
        description="Each project has its own keys, members’ roles, limits and budget, inside your account’s."
        actions={
          mayCreate && (
            <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
              New project
            </button>
          )
        }
      />
      {projects.state === 'loading' && <Loading />}
      {(projects.state === 'error' || projects.state === 'unavailable') && (
        <ErrorNotice error={projects.error} onRetry={projects.reload} />
      )}
      {list && (
        <Table
          caption="Projects"
          columns={['Project', 'Your role', 'Limits', 'Created', { label: 'Actions', hidden: true }]}
        >
          {list.map((p) => (
            <tr key={p.id} aria-current={p.id === selected ? 'true' : undefined}>
              <th scope="row">
                {p.name} {p.default && <span class="badge badge-info">default</span>}
                {p.archived_at && <Badge status="archived" />}
                <div class="muted">{p.id}</div>
              </th>
              <td>{p.your_role ?? '—'}</td>
              <td>{limitsSummary(p)}</td>
              <td>{fmtDate(p.created_at)}</td>
              <td class="row-actions">
                <button
                  type="button"
                  class="btn btn-small"
                  onClick={() => setSelected(p.id)}
                  aria-label={`Open ${p.name}`}
                >
                  Open
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {current && (
        <ProjectDetail
          key={`${current.id}-${current.name}-${current.archived_at ?? ''}`}
          project={current}
          mayArchive={mayCreate}
          onChanged={() => projects.reload()}
        />
      )}
      <CreateProjectDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(p) => {
          projects.reload();
          setSelected(p.id);
        }}
      />
    </>
  );
}
