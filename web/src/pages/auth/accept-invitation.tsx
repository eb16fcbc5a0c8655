import { useState } from 'preact/hooks';
import type { PageProps } from '../../app';
import { ErrorNotice, Field, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';

/** The page an invitation email links to: choose a password and join the team. */
export function AcceptInvitationPage(props: PageProps) {
  const token = props.query.get('token') ?? '';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const form = useSubmit(async () => {
    await post('/auth/invitations/accept', { token, password, ...(name.trim() ? { name } : {}) });
    setDone(true);
  });
  if (done) {
    return (
      <>
        <h1 tabIndex={-1} id="page-title">
          Welcome to the team
        </h1>
        <p class="lede" role="status">
          You are a member now. Log in with your email and the password you chose.
        </p>
        <Link href="/login" class="btn btn-primary btn-block">
          Log in
        </Link>
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1} id="page-title">
        Join your team
      </h1>
      <p class="lede">Choose a password to accept the invitation.</p>
      {!token && (
        <p class="notice notice-warn">
          This page needs the link from the invitation email (it carries a token).
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Your name" id="invite-name" error={form.fieldError('name')}>
          {(a) => <input {...a} autoComplete="name" value={name} onInput={(e) => setName(value(e))} />}
        </Field>
        <Field
          label="Password"
          id="invite-password"
          hint="At least 10 characters."
          error={form.fieldError('password')}
        >
          {(a) => (
            <input
              {...a}
              type="password"
              autoComplete="new-password"
              required
              value={password}
              onInput={(e) => setPassword(value(e))}
            />
          )}
        </Field>
        {form.error && !['name', 'password'].includes(form.error.param ?? '') && (
          <ErrorNotice error={form.error} title="Could not accept the invitation" />
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy || !token}>
          {form.busy ? 'Joining…' : 'Accept invitation'}
        </button>
      </form>
    </>
  );
}
