import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { navigate } from '../lib/router';
import { logOut, type Session } from '../lib/session';
import { Link, Toasts } from './ui';

export interface NavItem {
  href: string;
  label: string;
}

export const devNav: NavItem[] = [
  { href: '/overview', label: 'Overview' },
  { href: '/projects', label: 'Projects' },
  { href: '/keys', label: 'API keys' },
  { href: '/usage', label: 'Usage' },
  { href: '/requests', label: 'Requests' },
  { href: '/models', label: 'Models' },
  { href: '/playground', label: 'Playground' },
  { href: '/batches', label: 'Batches' },
  { href: '/billing', label: 'Billing' },
  { href: '/credits', label: 'Credits' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/team', label: 'Team' },
  { href: '/audit', label: 'Audit log' },
];

export const adminNav: NavItem[] = [
  { href: '/operator', label: 'Overview' },
  { href: '/operator/tenants', label: 'Tenants' },
  { href: '/operator/finance', label: 'Finance' },
  { href: '/operator/plans', label: 'Plans' },
  { href: '/operator/models', label: 'Models' },
  { href: '/operator/batches', label: 'Batches' },
  { href: '/operator/audit', label: 'Audit log' },
];

function Brand(props: { area: string }) {
  return (
    <Link href="/" class="brand">
      <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="currentColor" />
        <path d="M8 10h16v3h-6.5v11h-3V13H8z" fill="var(--brand-ink)" />
      </svg>
      <span>
        Tollgate <span class="brand-area">{props.area}</span>
      </span>
    </Link>
  );
}

/** The frame of the signed-in areas: skip link, navigation (a drawer below 768 px), who is signed in. */
export function Shell(props: { session: Session; path: string; children: ComponentChildren }) {
  const { session } = props;
  const admin = session.status === 'operator';
  const nav = admin ? adminNav : devNav;
  const [open, setOpen] = useState(false);
  const who =
    session.status === 'user'
      ? session.account.user.email
      : session.status === 'operator'
        ? (session.email ?? 'operator')
        : '';
  const active = (href: string) =>
    href === '/operator' ? props.path === href : props.path === href || props.path.startsWith(`${href}/`);
  return (
    <div class={`shell${open ? ' nav-open' : ''}`}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button
          type="button"
          class="btn-icon menu-button"
          aria-expanded={open}
          aria-controls="primary-nav"
          aria-label={open ? 'Close menu' : 'Open menu'}
          onClick={() => setOpen(!open)}
        >
          <span aria-hidden="true">{open ? '×' : '☰'}</span>
        </button>
        <Brand area={admin ? 'Operator console' : 'Developer console'} />
        {session.status === 'user' && <span class="tenant-name">{session.account.tenant.name}</span>}
        <div class="topbar-end">
          <span class="who" title={who}>
            {who}
          </span>
          <button
            type="button"
            class="btn btn-ghost btn-small"
            onClick={async () => {
              await logOut();
              navigate('/login');
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <nav id="primary-nav" class="sidenav" aria-label={admin ? 'Operator console' : 'Developer console'}>
        <ul>
          {nav.map((item) => (
            <li key={item.href}>
              <Link
                href={item.href}
                aria-current={active(item.href) ? 'page' : undefined}
                onClick={() => setOpen(false)}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <div class="sidenav-foot">
          <a href="/pricing">Pricing</a> · <a href="/docs">API reference</a>
        </div>
      </nav>
      <main id="main" class="main" tabIndex={-1}>
        {props.children}
      </main>
      <Toasts />
    </div>
  );
}

/** The frame of the public pages (log in, sign up, verify, reset): one centred card. */
export function PublicFrame(props: { children: ComponentChildren; wide?: boolean }) {
  return (
    <div class="public">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="public-head">
        <Brand area="" />
      </header>
      <main id="main" class={`public-main${props.wide ? ' public-main-wide' : ''}`} tabIndex={-1}>
        <div class="card public-card">{props.children}</div>
      </main>
      <footer class="public-foot">
        <a href="/pricing">Pricing</a> · <a href="/docs">API reference</a>
      </footer>
      <Toasts />
    </div>
  );
}
