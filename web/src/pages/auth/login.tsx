import { useState } from 'preact/hooks';
import { AuthForm, AuthHeading, Input } from '../../components/auth-form';
import { announce, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit } from '../../lib/forms';
import type { PageProps } from '../../lib/router';
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
  const unverified = form.error?.code === 'email_not_verified';
  return (
    <>
      <AuthHeading title="Log in" lede="Developers and operators log in here." />
      <AuthForm
        form={form}
        fields={['email', 'password']}
        submit="Log in"
        busy="Logging in…"
        errorTitle={unverified ? 'Email not verified' : 'Could not log in'}
        extra={
          unverified && (
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
          )
        }
      >
        <Input
          form={form}
          name="email"
          label="Email"
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onValue={setEmail}
        />
        <Input
          form={form}
          name="password"
          label="Password"
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
      </AuthForm>
      <p class="form-links">
        <Link href="/reset-password">Forgot your password?</Link>
        <span>
          New here? <Link href="/signup">Create an account</Link>
        </span>
      </p>
    </>
  );
}
