import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiFailure } from '../lib/api';
import { statusLabel } from '../lib/format';
import { onLinkClick } from '../lib/router';
import { createStore, useStore } from '../lib/store';

/** An in-app link: a real <a href> (new tab, copy link work) that navigates without a reload. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, children, onClick, ...rest } = props;
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        if (typeof onClick === 'function') onClick(e);
        onLinkClick(e);
      }}
    >
      {children}
    </a>
  );
}

export function PageHeader(props: {
  title: string;
  description?: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      <div>
        <h1 tabIndex={-1} id="page-title">
          {props.title}
        </h1>
        {props.description && <p class="lede">{props.description}</p>}
      </div>
      {props.actions && <div class="page-actions">{props.actions}</div>}
    </header>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </div>
  );
}

/** An error from the API, as its envelope says it: message, code, field and request id. */
export function ErrorNotice(props: { error: ApiFailure; onRetry?: () => void; title?: string }) {
  const { error } = props;
  return (
    <div class="notice notice-error" role="alert">
      <strong>{props.title ?? 'Something went wrong'}</strong>
      <p>{error.message}</p>
      {error.code === 'insufficient_balance' && (
        <p>
          Your credit balance is used up: <Link href="/credits">top up on the Credits page</Link>.
        </p>
      )}
      <p class="meta">
        {error.status ? `HTTP ${error.status} · ` : ''}
        <code>{error.code}</code>
        {error.param && (
          <>
            {' '}
            · field <code>{error.param}</code>
          </>
        )}
        {error.error.request_id && (
          <>
            {' '}
            · request <code>{error.error.request_id}</code>
          </>
        )}
      </p>
      {error.code === 'quota_exceeded' && <UpgradeButton />}
      {props.onRetry && (
        <button type="button" class="btn btn-small" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Where a plan stopped at its included units is upgraded: the plans page. */
export function UpgradeButton(props: { label?: string }) {
  return (
    <Link href="/plans" class="btn btn-small btn-primary">
      {props.label ?? 'Upgrade plan'}
    </Link>
  );
}

/** A feature whose endpoint this server does not have yet. */
export function Unavailable(props: { feature: string; endpoint: string; children?: ComponentChildren }) {
  return (
    <section class="notice notice-muted unavailable" aria-label={`${props.feature}: not available yet`}>
      <strong>{props.feature}: not available yet</strong>
      <p>
        This server does not offer <code>{props.endpoint}</code> yet. This part of the console lights up by
        itself once it is deployed.
      </p>
      {props.children}
    </section>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren; action?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{props.title}</strong>
      {props.children && <p>{props.children}</p>}
      {props.action}
    </div>
  );
}

const tones: Record<string, string> = {
  active: 'ok',
  verified: 'ok',
  pending_verification: 'warn',
  pending: 'warn',
  preview: 'info',
  past_due: 'warn',
  deprecated: 'warn',
  suspended: 'bad',
  revoked: 'bad',
  retired: 'bad',
  expired: 'muted',
  // Batches
  in_progress: 'info',
  finalizing: 'info',
  completed: 'ok',
  failed: 'bad',
  cancelling: 'warn',
  cancelled: 'muted',
};

export function Badge(props: { status: string; label?: string }) {
  return (
    <span class={`badge badge-${tones[props.status] ?? 'muted'}`}>
      {props.label ?? statusLabel(props.status)}
    </span>
  );
}

export function Field(props: {
  label: string;
  id: string;
  hint?: ComponentChildren;
  error?: string | null;
  children: (aria: {
    id: string;
    'aria-describedby'?: string;
    'aria-invalid'?: boolean;
  }) => ComponentChildren;
}) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  const errId = props.error ? `${props.id}-error` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${props.error ? ' field-invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children({
        id: props.id,
        'aria-describedby': describedBy,
        'aria-invalid': props.error ? true : undefined,
      })}
      {props.hint && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={errId}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** A modal dialog on the native <dialog>: focus is trapped and Escape closes it. */
export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class={`dialog${props.wide ? ' dialog-wide' : ''}`}
      aria-labelledby={`${props.title.replace(/\W+/g, '-')}-title`}
      onClose={props.onClose}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      {props.open && (
        <>
          <div class="dialog-head">
            <h2 id={`${props.title.replace(/\W+/g, '-')}-title`}>{props.title}</h2>
            <button type="button" class="btn-icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          </div>
          <div class="dialog-body">{props.children}</div>
        </>
      )}
    </dialog>
  );
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="btn btn-small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(props.text);
          setDone(true);
          announce('Copied to the clipboard.');
          setTimeout(() => setDone(false), 2000);
        } catch {
          announce('Copy failed: select the text and copy it yourself.', 'error');
        }
      }}
    >
      {done ? 'Copied' : (props.label ?? 'Copy')}
    </button>
  );
}

/** Announcements for async results: shown as a toast and read out by screen readers. */
interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'error';
}
const toasts = createStore<Toast[]>([]);
let nextToast = 1;

export function announce(text: string, tone: Toast['tone'] = 'info'): void {
  const toast = { id: nextToast++, text, tone };
  toasts.set([...toasts.get(), toast]);
  setTimeout(() => toasts.set(toasts.get().filter((t) => t.id !== toast.id)), 3500);
}

export function Toasts() {
  const list = useStore(toasts);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.tone}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function Stat(props: { label: string; value: ComponentChildren; sub?: ComponentChildren }) {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.sub && <div class="stat-sub">{props.sub}</div>}
    </div>
  );
}

export function Meter(props: { label: string; used: number; limit: number; format: (n: number) => string }) {
  const pct = props.limit > 0 ? Math.min(100, (props.used / props.limit) * 100) : 0;
  const tone = pct >= 90 ? 'bad' : pct >= 75 ? 'warn' : 'ok';
  return (
    <div class="meter">
      <div class="meter-row">
        <span>{props.label}</span>
        <span>
          {props.format(props.used)} of {props.format(props.limit)}
        </span>
      </div>
      {/* biome-ignore lint/a11y/useSemanticElements: <meter> cannot be styled consistently; the role says the same. */}
      <div
        class={`meter-bar meter-${tone}`}
        role="meter"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.limit}
        aria-valuenow={props.used}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** The "Load more" button under a cursor-paged list, with its own busy and error states. */
export function LoadMore(props: {
  list: { hasMore: boolean; moreBusy: boolean; moreError: ApiFailure | null; loadMore: () => Promise<void> };
}) {
  const { list } = props;
  if (!list.hasMore && !list.moreError) return null;
  return (
    <>
      {list.moreError && <ErrorNotice error={list.moreError} title="Could not load more" />}
      {list.hasMore && (
        <p>
          <button type="button" class="btn" disabled={list.moreBusy} onClick={() => void list.loadMore()}>
            {list.moreBusy ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  );
}
