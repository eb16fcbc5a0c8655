import { useState } from 'preact/hooks';
import { AuthDone, AuthForm, AuthHeading, Input } from '../../components/auth-form';
import { Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit } from '../../lib/forms';
import type { PageProps } from '../../lib/router';
import { LocalOutbox } from './local-outbox';

/** Without a token: ask for the email. With the emailed token: choose the new password. */
export function ResetPasswordPage(props: PageProps) {
  const token = props.query.get('token');
  return token ? <ChoosePassword token={token} /> : <AskForEmail />;
}

function AskForEmail() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const form = useSubmit(async () => {
    await post('/auth/password-reset', { email });
    setSent(email.trim().toLowerCase());
  });
  if (sent) {
    return (
      <>
        <AuthHeading
          title="Check your inbox"
          status
          lede={`If ${sent} has an account, an email with a reset link is on its way.`}
        />
        <LocalOutbox email={sent} kind="reset_password" />
        <p class="form-links">
          <Link href="/login">Back to log in</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <AuthHeading title="Reset your password" lede="We will email you a link to choose a new one." />
      <AuthForm form={form} fields={['email']} submit="Email me a reset link" busy="Sending…">
        <Input
          form={form}
          name="email"
          label="Email"
          id="reset-email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onValue={setEmail}
        />
      </AuthForm>
      <p class="form-links">
        <Link href="/login">Back to log in</Link>
      </p>
    </>
  );
}

function ChoosePassword(props: { token: string }) {
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const form = useSubmit(async () => {
    await post('/auth/password-reset/confirm', { token: props.token, password });
    setDone(true);
  });
  if (done) {
    return (
      <AuthDone title="Password changed">
        Every session of your account has been ended. Log in with your new password.
      </AuthDone>
    );
  }
  return (
    <>
      <AuthHeading title="Choose a new password" />
      <AuthForm
        form={form}
        fields={['password']}
        submit="Set new password"
        busy="Saving…"
        errorTitle="Could not reset"
      >
        <Input
          form={form}
          name="password"
          label="New password"
          id="reset-password"
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
