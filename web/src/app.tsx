import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { PublicFrame, Shell } from './components/shell';
import { ErrorNotice, Link, Loading } from './components/ui';
import { ApiFailure } from './lib/api';
import { match, navigate, type PageProps, useLocation } from './lib/router';
import { loadSession, type Session, session as sessionStore } from './lib/session';
import { useStore } from './lib/store';
import { AcceptInvitationPage } from './pages/auth/accept-invitation';
import { LoginPage } from './pages/auth/login';
import { ResetPasswordPage } from './pages/auth/reset-password';
import { SignupPage } from './pages/auth/signup';
import { VerifyEmailPage } from './pages/auth/verify-email';

type Loader = () => Promise<{ default: ComponentType<PageProps> }>;
type Area = 'public' | 'dev' | 'admin';
interface Route {
  pattern: string;
  title: string;
  area: Area;
  /** A page in the first load, or one loaded when first visited. */
  page: { component: ComponentType<PageProps> } | { load: Loader };
}

/** Every page. Signed-in areas load on demand, so the first load is the login page and little else. */
const routes: Route[] = [
  { pattern: '/login', title: 'Log in', area: 'public', page: { component: LoginPage } },
  { pattern: '/signup', title: 'Sign up', area: 'public', page: { component: SignupPage } },
  {
    pattern: '/verify-email',
    title: 'Verify your email',
    area: 'public',
    page: { component: VerifyEmailPage },
  },
  {
    pattern: '/reset-password',
    title: 'Reset your password',
    area: 'public',
    page: { component: ResetPasswordPage },
  },
  {
    pattern: '/accept-invitation',
    title: 'Join your team',
    area: 'public',
    page: { component: AcceptInvitationPage },
  },
  {
    pattern: '/pricing',
    title: 'Pricing',
    area: 'public',
    page: { load: () => import('./pages/public/pricing') },
  },
  {
    pattern: '/overview',
    title: 'Overview',
    area: 'dev',
    page: { load: () => import('./pages/dev/overview') },
  },
  { pattern: '/keys', title: 'API keys', area: 'dev', page: { load: () => import('./pages/dev/keys') } },
  { pattern: '/usage', title: 'Usage', area: 'dev', page: { load: () => import('./pages/dev/usage') } },
  {
    pattern: '/batches',
    title: 'Batches',
    area: 'dev',
    page: { load: () => import('./pages/dev/batches') },
  },
  {
    pattern: '/requests',
    title: 'Requests',
    area: 'dev',
    page: { load: () => import('./pages/dev/requests') },
  },
  { pattern: '/models', title: 'Models', area: 'dev', page: { load: () => import('./pages/dev/models') } },
  {
    pattern: '/playground',
    title: 'Playground',
    area: 'dev',
    page: { load: () => import('./pages/dev/playground') },
  },
  { pattern: '/billing', title: 'Billing', area: 'dev', page: { load: () => import('./pages/dev/billing') } },
  { pattern: '/plans', title: 'Plans', area: 'dev', page: { load: () => import('./pages/dev/plans') } },
  { pattern: '/credits', title: 'Credits', area: 'dev', page: { load: () => import('./pages/dev/credits') } },
  {
    pattern: '/projects',
    title: 'Projects',
    area: 'dev',
    page: { load: () => import('./pages/dev/projects') },
  },
  { pattern: '/team', title: 'Team', area: 'dev', page: { load: () => import('./pages/dev/team') } },
  { pattern: '/audit', title: 'Audit log', area: 'dev', page: { load: () => import('./pages/dev/audit') } },
  {
    pattern: '/alerts',
    title: 'Usage alerts',
    area: 'dev',
    page: { load: () => import('./pages/dev/alerts') },
  },
  {
    pattern: '/operator',
    title: 'Operator overview',
    area: 'admin',
    page: { load: () => import('./pages/admin/overview') },
  },
  {
    pattern: '/operator/tenants',
    title: 'Tenants',
    area: 'admin',
    page: { load: () => import('./pages/admin/tenants') },
  },
  {
    pattern: '/operator/tenants/:id',
    title: 'Tenant',
    area: 'admin',
    page: { load: () => import('./pages/admin/tenant-detail') },
  },
  {
    pattern: '/operator/finance',
    title: 'Finance',
    area: 'admin',
    page: { load: () => import('./pages/admin/finance') },
  },
  {
    pattern: '/operator/plans',
    title: 'Plans',
    area: 'admin',
    page: { load: () => import('./pages/admin/plans') },
  },
  {
    pattern: '/operator/models',
    title: 'Models',
    area: 'admin',
    page: { load: () => import('./pages/admin/models') },
  },
  {
    pattern: '/operator/batches',
    title: 'Batches',
    area: 'admin',
    page: { load: () => import('./pages/admin/batches') },
  },
  {
    pattern: '/operator/audit',
    title: 'Audit log',
    area: 'admin',
    page: { load: () => import('./pages/admin/audit') },
  },
];

const home = (s: Session) => (s.status === 'operator' ? '/operator' : '/overview');

function LazyPage(props: { loader: Loader; pageProps: PageProps }) {
  const [Page, setPage] = useState<ComponentType<PageProps> | null>(null);
  const [failed, setFailed] = useState<ApiFailure | null>(null);
  useEffect(() => {
    let live = true;
    setPage(null);
    props.loader().then(
      (m) => live && setPage(() => m.default),
      () =>
        live &&
        setFailed(
          new ApiFailure(0, {
            message: 'This page could not be loaded. The console may have been updated: reload the page.',
            type: 'client_error',
            code: 'chunk_load_failed',
            param: null,
          }),
        ),
    );
    return () => {
      live = false;
    };
  }, [props.loader]);
  if (failed) return <ErrorNotice error={failed} onRetry={() => location.reload()} />;
  if (!Page) return <Loading />;
  return <Page {...props.pageProps} />;
}

function NotFound() {
  return (
    <div class="empty">
      <h1 tabIndex={-1} id="page-title">
        Page not found
      </h1>
      <p>There is no console page at this address.</p>
      <Link href="/" class="btn">
        Go to the console
      </Link>
    </div>
  );
}

export function App() {
  const loc = useLocation();
  const session = useStore(sessionStore);
  const [bootError, setBootError] = useState<ApiFailure | null>(null);
  const announcer = useRef<HTMLDivElement>(null);

  useEffect(() => {
    loadSession().catch((err: unknown) => setBootError(err instanceof ApiFailure ? err : null));
  }, []);

  const found = routes
    .map((r) => ({ route: r, params: match(r.pattern, loc.path) }))
    .find((m) => m.params !== null);
  const route = found?.route;

  // Pages an identity cannot use send it where it belongs.
  useEffect(() => {
    if (session.status === 'unknown') return;
    if (loc.path === '/') {
      navigate(session.status === 'anonymous' ? '/login' : home(session), { replace: true });
      return;
    }
    if (!route) return;
    if (route.area !== 'public' && session.status === 'anonymous') {
      navigate(`/login?next=${encodeURIComponent(loc.path + (loc.query.size ? `?${loc.query}` : ''))}`, {
        replace: true,
      });
    } else if (route.area === 'dev' && session.status === 'operator') {
      navigate('/operator', { replace: true });
    } else if (route.area === 'admin' && session.status === 'user') {
      navigate('/overview', { replace: true });
    } else if (
      (route.pattern === '/login' || route.pattern === '/signup') &&
      session.status !== 'anonymous'
    ) {
      navigate(home(session), { replace: true });
    }
  }, [session, loc.path, route]);

  // A new page: its title, an announcement for screen readers, and focus on its heading.
  useEffect(() => {
    const title = route?.title ?? 'Page not found';
    document.title = `${title} · Tollgate`;
    if (announcer.current) announcer.current.textContent = title;
    requestAnimationFrame(() => {
      const h = document.getElementById('page-title');
      if (h && document.activeElement === document.body) h.focus({ preventScroll: true });
    });
  }, [loc.path, route]);

  let body: preact.ComponentChildren;
  if (bootError)
    body = <ErrorNotice error={bootError} onRetry={() => location.reload()} title="The API did not answer" />;
  else if (session.status === 'unknown' || loc.path === '/') body = <Loading label="Starting the console…" />;
  else if (!route || !found?.params) body = <NotFound />;
  else {
    const pageProps: PageProps = { params: found.params, query: loc.query };
    const page = route.page;
    body =
      'load' in page ? (
        <LazyPage loader={page.load} pageProps={pageProps} />
      ) : (
        <PageOf page={page.component} props={pageProps} />
      );
  }

  const signedIn = session.status === 'user' || session.status === 'operator';
  const framed =
    route && route.area !== 'public' && signedIn ? (
      <Shell session={session} path={loc.path}>
        {body}
      </Shell>
    ) : (
      <PublicFrame wide={route?.pattern === '/pricing'}>{body}</PublicFrame>
    );
  return (
    <>
      <div ref={announcer} class="visually-hidden" aria-live="polite" />
      {framed}
    </>
  );
}

function PageOf(props: { page: ComponentType<PageProps>; props: PageProps }) {
  const Page = props.page;
  return <Page {...props.props} />;
}
