import type { TargetedMouseEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** A small history router: the console has a dozen pages and needs no more. */

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** What the router hands every page: the path's named parts and the query. */
export interface PageProps {
  params: Record<string, string>;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Location {
  return {
    path: window.location.pathname.replace(/\/+$/, '') || '/',
    query: new URLSearchParams(window.location.search),
  };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

window.addEventListener('popstate', () => {
  for (const fn of listeners) fn();
});

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = () => setLoc(current());
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return loc;
}

/** Matches `/operator/tenants/:id` against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(a[i]!);
    else if (seg !== a[i]) return null;
  }
  return params;
}

/** Client-side navigation for in-app links; modified clicks (new tab) keep the browser's behaviour. */
export function onLinkClick(e: TargetedMouseEvent<HTMLAnchorElement>): void {
  const a = e.currentTarget;
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.origin !== window.location.origin || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
