import { useState } from 'preact/hooks';
import type { PageProps } from '../../app';
import { announce, ErrorNotice, Field, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import { navigate } from '../../lib/router';
import { loadSession, rememberOperator, session } from '../../lib/session';
import type { SessionAnswer } from '../../lib/types';

/** A `next` that stays inside the console (never an open redirect). */
function safeNext(next: string | null): string | null {
  return next?.startsWith('/') && !next.startsWith('//') ? next : null;
}

export function LoginPage(props: PageProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [resent, setResent] = useState(false);
  const form = useSubmit(async () => {
    const answer = await post<SessionAnswer>('/auth/login', { email, password });
    const next = safeNext(props.query.get('next'));
    if (answer.subject.kind === 'operator') {
      rememberOperator(email.trim().toLowerCase());
      session.set({ status: 'operator', email: email.trim().toLowerCase() });
      navigate(next?.startsWith('/operator') ? next : '/operator', { replace: true });
    } else {
      await loadSession();
      navigate(next && !next.startsWith('/operator') ? next : '/overview', { replace: true });
    }
  });
  const resend = useSubmit(async () => {
    await post('/auth/verify/resend', { email });
    setResent(true);
    announce('If the account is waiting for verification, a new email is on its way.');
  });
  return (
    <>
      <h1 tabIndex={-1} id="page-title">
        Log in
      </h1>
      <p class="lede">Developers and operators log in here.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Email" id="login-email" error={form.fieldError('email')}>
          {(a) => (
            <input
              {...a}
              type="email"
              autoComplete="username"
              required
              value={email}
              onInput={(e) => setEmail(value(e))}
            />
          )}
        </Field>
        <Field label="Password" id="login-password" error={form.fieldError('password')}>
          {(a) => (
            <input
              {...a}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(value(e))}
            />
          )}
        </Field>
        {form.error && !form.error.param && (
          <ErrorNotice
            error={form.error}
            title={form.error.code === 'email_not_verified' ? 'Email not verified' : 'Could not log in'}
          />
        )}
        {form.error?.code === 'email_not_verified' && (
          <p>
            <button
              type="button"
              class="btn btn-small"
              disabled={resend.busy || resent}
              onClick={() => void resend.run()}
            >
              {resent ? 'Verification email sent' : 'Send the verification email again'}
            </button>
          </p>
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p class="form-links">
        <Link href="/reset-password">Forgot your password?</Link>
        <span>
          New here? <Link href="/signup">Create an account</Link>
        </span>
      </p>
    </>
  );
}
