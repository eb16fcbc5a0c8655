import { useState } from 'preact/hooks';
import { ErrorNotice, Field, Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit, value } from '../../lib/forms';
import { LocalOutbox } from './local-outbox';

export function SignupPage() {
  const [f, setF] = useState({ name: '', company: '', email: '', password: '' });
  const [sent, setSent] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: value(e) });
  const form = useSubmit(async () => {
    const body: Record<string, string> = { email: f.email, password: f.password };
    if (f.name.trim()) body.name = f.name;
    if (f.company.trim()) body.company = f.company;
    await post('/auth/signup', body);
    setSent(f.email.trim().toLowerCase());
  });

  if (sent) {
    return (
      <>
        <h1 tabIndex={-1} id="page-title">
          Check your inbox
        </h1>
        <p class="lede" role="status">
          If <strong>{sent}</strong> can be used, a verification email is on its way. Open its link to
          activate your account, then log in.
        </p>
        <LocalOutbox email={sent} kind="verify_email" />
        <p class="form-links">
          <Link href="/login">Back to log in</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1} id="page-title">
        Create your account
      </h1>
      <p class="lede">Get an API key and call chat, vision and text models in minutes. Free to start.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void form.run();
        }}
        noValidate
      >
        <Field label="Your name" id="signup-name" error={form.fieldError('name')}>
          {(a) => <input {...a} autoComplete="name" value={f.name} onInput={set('name')} />}
        </Field>
        <Field
          label="Company or team"
          id="signup-company"
          hint="Optional. Your account's name."
          error={form.fieldError('company')}
        >
          {(a) => <input {...a} autoComplete="organization" value={f.company} onInput={set('company')} />}
        </Field>
        <Field label="Email" id="signup-email" error={form.fieldError('email')}>
          {(a) => (
            <input {...a} type="email" autoComplete="email" required value={f.email} onInput={set('email')} />
          )}
        </Field>
        <Field
          label="Password"
          id="signup-password"
          hint="At least 10 characters."
          error={form.fieldError('password')}
        >
          {(a) => (
            <input
              {...a}
              type="password"
              autoComplete="new-password"
              required
              minLength={10}
              value={f.password}
              onInput={set('password')}
            />
          )}
        </Field>
        {form.error && !['email', 'password', 'name', 'company'].includes(form.error.param ?? '') && (
          <ErrorNotice error={form.error} title="Could not sign up" />
        )}
        <button type="submit" class="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p class="form-links">
        <span>
          Already have an account? <Link href="/login">Log in</Link>
        </span>
      </p>
    </>
  );
}
