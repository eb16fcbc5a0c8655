import { useState } from 'preact/hooks';
import type { PageProps } from '../../app';
import { ErrorNotice, Field, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
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
        <h1 tabIndex={-1} id="page-title">
          Check your inbox
        </h1>
        <p class="lede" role="status">
          If {sent} has an account, an email with a reset link is on its way.
        </p>
        <LocalOutbox email={sent} kind="reset_password" />
        <p class="form-links">
          <Link href="/login">Back to log in</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1} id="page-title">
        Reset your password
      </h1>
      <p class="lede">We will email you a link to choose a new one.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Email" id="reset-email" error={form.fieldError('email')}>
          {(a) => (
            <input
              {...a}
              type="email"
              autoComplete="email"
              required
              value={email}
              onInput={(e) => setEmail(value(e))}
            />
          )}
        </Field>
        {form.error && form.error.param !== 'email' && <ErrorNotice error={form.error} />}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Sending…' : 'Email me a reset link'}
        </button>
      </form>
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
      <>
        <h1 tabIndex={-1} id="page-title">
          Password changed
        </h1>
        <p class="lede" role="status">
          Every session of your account has been ended. Log in with your new password.
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
        Choose a new password
      </h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field
          label="New password"
          id="reset-password"
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
        {form.error && form.error.param !== 'password' && (
          <ErrorNotice error={form.error} title="Could not reset" />
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Saving…' : 'Set new password'}
        </button>
      </form>
    </>
  );
}
