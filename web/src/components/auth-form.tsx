import type { ComponentChildren } from 'preact';
import type { ApiFailure } from '../lib/api';
import { value } from '../lib/forms';
import { ErrorNotice, Field, Link } from './ui';

/** What `useSubmit` gives a form that takes no arguments. */
export interface FormState {
  busy: boolean;
  error: ApiFailure | null;
  run: () => Promise<void>;
  fieldError: (param: string) => string | null;
}

/** The heading of a public page: focused on navigation, with an optional lede. */
export function AuthHeading(props: { title: string; lede?: ComponentChildren; status?: boolean }) {
  return (
    <>
      <h1 tabIndex={-1} id="page-title">
        {props.title}
      </h1>
      {props.lede && (
        <p class="lede" role={props.status ? 'status' : undefined}>
          {props.lede}
        </p>
      )}
    </>
  );
}

/** One labelled box whose API error (the envelope's `param` equals `name`) shows under it. */
export function Input(props: {
  form: FormState;
  name: string;
  label: string;
  id: string;
  value: string;
  onValue: (v: string) => void;
  type?: 'text' | 'email' | 'password';
  autoComplete?: string;
  hint?: ComponentChildren;
  required?: boolean;
}) {
  return (
    <Field label={props.label} id={props.id} hint={props.hint} error={props.form.fieldError(props.name)}>
      {(a) => (
        <input
          {...a}
          // Preact types inputs per `type`; these three take the same attributes.
          type={(props.type ?? 'text') as 'text'}
          autoComplete={props.autoComplete}
          required={props.required}
          value={props.value}
          onInput={(e) => props.onValue(value(e))}
        />
      )}
    </Field>
  );
}

/**
 * A public page's form: no browser validation (the API's messages are shown, on their fields),
 * the envelope of any error no field shows, and one full-width submit button.
 */
export function AuthForm(props: {
  form: FormState;
  /** The fields the form shows errors on; any other error is shown above the button. */
  fields: string[];
  submit: string;
  busy: string;
  errorTitle?: string;
  disabled?: boolean;
  /** Below the error, above the button (e.g. a resend button). */
  extra?: ComponentChildren;
  children: ComponentChildren;
}) {
  const { form } = props;
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void form.run();
      }}
    >
      {props.children}
      {form.error && !props.fields.includes(form.error.param ?? '') && (
        <ErrorNotice error={form.error} title={props.errorTitle} />
      )}
      {props.extra}
      <button type="submit" class="btn btn-primary btn-block" disabled={form.busy || props.disabled}>
        {form.busy ? props.busy : props.submit}
      </button>
    </form>
  );
}

/** The last screen of a flow: what happened, and the way to log in. */
export function AuthDone(props: { title: string; children: ComponentChildren }) {
  return (
    <>
      <AuthHeading title={props.title} lede={props.children} status />
      <Link href="/login" class="btn btn-primary btn-block">
        Log in
      </Link>
    </>
  );
}
