import { useState } from 'preact/hooks';
import { ErrorNotice, Field, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import type { PageProps } from '../../lib/router';

/** The page the verification email links to. Verifying takes a click, so link scanners cannot do it. */
export function VerifyEmailPage(props: PageProps) {
  const [token, setToken] = useState(props.query.get('token') ?? '');
  const [done, setDone] = useState(false);
  const form = useSubmit(async () => {
    await post('/auth/verify', { token: token.trim() });
    setDone(true);
  });
  if (done) {
    return (
      <>
        <h1 tabIndex={-1} id="page-title">
          Email verified
        </h1>
        <p class="lede" role="status">
          Your account is active. Log in to create your first API key.
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
        Verify your email
      </h1>
      <p class="lede">Confirm your address to activate your account.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
      >
        {!props.query.get('token') && (
          <Field
            label="Verification token"
            id="verify-token"
            hint="From the email: starts with tgv_."
            error={form.fieldError('token')}
          >
            {(a) => (
              <input
                {...a}
                required
                value={token}
                onInput={(e) => setToken(value(e))}
                autoComplete="one-time-code"
              />
            )}
          </Field>
        )}
        {form.error && <ErrorNotice error={form.error} title="Could not verify" />}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy || !token.trim()}>
          {form.busy ? 'Verifying…' : 'Verify my email'}
        </button>
      </form>
      <p class="form-links">
        <Link href="/login">Log in</Link>
      </p>
    </>
  );
}
