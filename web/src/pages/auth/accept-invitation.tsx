import { useState } from 'preact/hooks';
import { AuthDone, AuthForm, AuthHeading, Input } from '../../components/auth-form';
import { post } from '../../lib/api';
import { useSubmit } from '../../lib/forms';
import type { PageProps } from '../../lib/router';

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
      <AuthDone title="Welcome to the team">
        You are a member now. Log in with your email and the password you chose.
      </AuthDone>
    );
  }
  return (
    <>
      <AuthHeading title="Join your team" lede="Choose a password to accept the invitation." />
      {!token && (
        <p class="notice notice-warn">
          This page needs the link from the invitation email (it carries a token).
        </p>
      )}
      <AuthForm
        form={form}
        fields={['name', 'password']}
        submit="Accept invitation"
        busy="Joining…"
        errorTitle="Could not accept the invitation"
        disabled={!token}
      >
        <Input
          form={form}
          name="name"
          label="Your name"
          id="invite-name"
          autoComplete="name"
          value={name}
          onValue={setName}
        />
        <Input
          form={form}
          name="password"
          label="Password"
          id="invite-password"
          type="password"
          hint="At least 10 characters."
          autoComplete="new-password"
          required
          value={password}
          onValue={setPassword}
        />
      </AuthForm>
    </>
  );
}
