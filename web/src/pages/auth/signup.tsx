import { useState } from 'preact/hooks';
import { AuthForm, AuthHeading, Input } from '../../components/auth-form';
import { Link } from '../../components/ui';
import { post } from '../../lib/api';
import { useSubmit } from '../../lib/forms';
import { LocalOutbox } from './local-outbox';

export function SignupPage() {
  const [f, setF] = useState({ name: '', company: '', email: '', password: '' });
  const [sent, setSent] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
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
        <AuthHeading
          title="Check your inbox"
          status
          lede={
            <>
              If <strong>{sent}</strong> can be used, a verification email is on its way. Open its link to
              activate your account, then log in.
            </>
          }
        />
        <LocalOutbox email={sent} kind="verify_email" />
        <p class="form-links">
          <Link href="/login">Back to log in</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <AuthHeading
        title="Create your account"
        lede="Get an API key and call chat, vision and text models in minutes. Free to start."
      />
      <AuthForm
        form={form}
        fields={['email', 'password', 'name', 'company']}
        submit="Create account"
        busy="Creating…"
        errorTitle="Could not sign up"
      >
        <Input
          form={form}
          name="name"
          label="Your name"
          id="signup-name"
          autoComplete="name"
          value={f.name}
          onValue={set('name')}
        />
        <Input
          form={form}
          name="company"
          label="Company or team"
          id="signup-company"
          hint="Optional. Your account's name."
          autoComplete="organization"
          value={f.company}
          onValue={set('company')}
        />
        <Input
          form={form}
          name="email"
          label="Email"
          id="signup-email"
          type="email"
          autoComplete="email"
          required
          value={f.email}
          onValue={set('email')}
        />
        <Input
          form={form}
          name="password"
          label="Password"
          id="signup-password"
          type="password"
          hint="At least 10 characters."
          autoComplete="new-password"
          required
          value={f.password}
          onValue={set('password')}
        />
      </AuthForm>
      <p class="form-links">
        <span>
          Already have an account? <Link href="/login">Log in</Link>
        </span>
      </p>
    </>
  );
}
