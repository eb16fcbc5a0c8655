import { useState } from 'preact/hooks';
import { Table } from '../../components/table';
import { announce, Badge, Dialog, ErrorNotice, Field, Loading, PageHeader } from '../../components/ui';
import { api, get, post } from '../../lib/api';
import { fmtDate } from '../../lib/format';
import { useSubmit, value } from '../../lib/forms';
import { can, session as sessionStore } from '../../lib/session';
import { useStore } from '../../lib/store';
import { type Member, type Role, roles, type Team } from '../../lib/types';
import { useResource } from '../../lib/use-resource';

const roleHelp: Record<Role, string> = {
  owner: 'everything, including team, limits and billing',
  developer: 'API keys and usage',
  billing: 'billing and the account profile',
  viewer: 'read-only',
};

function InviteDialog(props: { open: boolean; onClose: () => void; onDone: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const form = useSubmit(async () => {
    await post('/account/team/invitations', { email, role });
    announce(`Invitation sent to ${email}.`);
    setEmail('');
    props.onDone();
    props.onClose();
  });
  return (
    <Dialog open={props.open} title="Invite a teammate" onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Email" id="invite-email" error={form.fieldError('email')}>
          {(a) => <input {...a} type="email" required value={email} onInput={(e) => setEmail(value(e))} />}
        </Field>
        <Field label="Role" id="invite-role" hint={`A ${role} can do: ${roleHelp[role]}.`}>
          {(a) => (
            <select {...a} value={role} onChange={(e) => setRole(value(e) as Role)}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        {form.error && form.error.param !== 'email' && <ErrorNotice error={form.error} />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={form.busy || !email.trim()}>
            {form.busy ? 'Sending…' : 'Send invitation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MemberRow(props: {
  m: Member;
  me: string;
  manage: boolean;
  onChanged: () => void;
  onRemove: (m: Member) => void;
}) {
  const { m } = props;
  const change = useSubmit(async (role: Role) => {
    await api('PATCH', `/account/team/members/${m.user_id}`, { body: { role } });
    announce(`${m.email} is now ${role}.`);
    props.onChanged();
  });
  return (
    <tr>
      <th scope="row">
        {m.name ?? m.email}
        {m.user_id === props.me && <span class="badge badge-info">you</span>}
        {m.name && <div class="muted">{m.email}</div>}
      </th>
      <td>
        {props.manage ? (
          <>
            <label class="visually-hidden" for={`role-${m.user_id}`}>
              Role of {m.email}
            </label>
            <select
              id={`role-${m.user_id}`}
              value={m.role}
              disabled={change.busy}
              onChange={(e) => void change.run(value(e) as Role)}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            {change.error && <p class="field-error">{change.error.message}</p>}
          </>
        ) : (
          m.role
        )}
      </td>
      <td>{fmtDate(m.joined_at)}</td>
      {props.manage && (
        <td class="row-actions">
          <button
            type="button"
            class="btn btn-small btn-danger-ghost"
            onClick={() => props.onRemove(m)}
            aria-label={`Remove ${m.email}`}
          >
            Remove
          </button>
        </td>
      )}
    </tr>
  );
}

export default function TeamPage() {
  const session = useStore(sessionStore);
  const team = useResource((signal) => get<Team>('/account/team', { signal }), []);
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const manage = can(session, 'team:manage');
  const me = session.status === 'user' ? session.account.user.id : '';
  const remove = useSubmit(async () => {
    if (!removing) return;
    await api('DELETE', `/account/team/members/${removing.user_id}`);
    announce(`${removing.email} removed.`);
    setRemoving(null);
    team.reload();
  });
  const withdraw = useSubmit(async (id: string) => {
    await api('DELETE', `/account/team/invitations/${id}`);
    announce('Invitation withdrawn.');
    team.reload();
  });
  const t = team.state === 'ok' ? team.data : null;
  return (
    <>
      <PageHeader
        title="Team"
        description="Everyone in your account, and what their role lets them do."
        actions={
          manage && (
            <button type="button" class="btn btn-primary" onClick={() => setInviting(true)}>
              Invite teammate
            </button>
          )
        }
      />
      {team.state === 'loading' && <Loading />}
      {team.state === 'error' && <ErrorNotice error={team.error} onRetry={team.reload} />}
      {t && (
        <>
          <Table
            caption="Members"
            columns={['Member', 'Role', 'Joined', manage && { label: 'Actions', hidden: true }]}
          >
            {t.members.map((m) => (
              <MemberRow
                key={m.user_id}
                m={m}
                me={me}
                manage={manage}
                onChanged={team.reload}
                onRemove={setRemoving}
              />
            ))}
          </Table>
          {withdraw.error && <ErrorNotice error={withdraw.error} />}
          <Table
            caption="Pending invitations"
            columns={['Email', 'Role', 'Expires', manage && { label: 'Actions', hidden: true }]}
          >
            {t.invitations.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  No pending invitations.
                </td>
              </tr>
            )}
            {t.invitations.map((i) => (
              <tr key={i.id}>
                <th scope="row">{i.email}</th>
                <td>{i.role}</td>
                <td>{i.status === 'expired' ? <Badge status="expired" /> : fmtDate(i.expires_at)}</td>
                {manage && (
                  <td class="row-actions">
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={() => void withdraw.run(i.id)}
                      aria-label={`Withdraw the invitation to ${i.email}`}
                    >
                      Withdraw
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        </>
      )}
      <InviteDialog open={inviting} onClose={() => setInviting(false)} onDone={team.reload} />
      <Dialog open={!!removing} title="Remove this member?" onClose={() => setRemoving(null)}>
        {removing && (
          <>
            <p>
              {removing.email} loses access at once and their sessions end. The account's API keys keep
              working.
            </p>
            {remove.error && <ErrorNotice error={remove.error} />}
            <div class="dialog-actions">
              <button type="button" class="btn" onClick={() => setRemoving(null)}>
                Cancel
              </button>
              <button
                type="button"
                class="btn btn-danger"
                disabled={remove.busy}
                onClick={() => void remove.run()}
              >
                Remove member
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}
