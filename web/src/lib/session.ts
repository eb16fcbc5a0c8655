import { ApiFailure, get, post, sessionEvents } from './api';
import { forgetPlaygroundKey } from './key-vault';
import { createStore } from './store';
import type { Account } from './types';

/** Who is using the console. Operators have no tenant: GET /account answers them 403. */
export type Session =
  | { status: 'unknown' }
  | { status: 'anonymous' }
  | { status: 'user'; account: Account }
  | { status: 'operator'; email: string | null };

export const session = createStore<Session>({ status: 'unknown' });

const OPERATOR_EMAIL = 'tollgate.operatorEmail';

/** Asks the API who the cookies belong to. */
export async function loadSession(): Promise<Session> {
  try {
    const account = await get<Account>('/account');
    const next: Session = { status: 'user', account };
    session.set(next);
    return next;
  } catch (err) {
    let next: Session = { status: 'anonymous' };
    if (err instanceof ApiFailure && err.status === 403) {
      next = { status: 'operator', email: sessionStorage.getItem(OPERATOR_EMAIL) };
    } else if (!(err instanceof ApiFailure) || err.status !== 401) {
      throw err;
    }
    session.set(next);
    return next;
  }
}

export function rememberOperator(email: string): void {
  sessionStorage.setItem(OPERATOR_EMAIL, email);
}

export async function logOut(): Promise<void> {
  await post('/auth/logout').catch(() => undefined);
  forgetPlaygroundKey();
  sessionStorage.removeItem(OPERATOR_EMAIL);
  session.set({ status: 'anonymous' });
}

sessionEvents.addEventListener('expired', () => {
  if (session.get().status === 'user' || session.get().status === 'operator') {
    forgetPlaygroundKey();
    session.set({ status: 'anonymous' });
  }
});

export const can = (s: Session, permission: string) =>
  s.status === 'user' && s.account.permissions.includes(permission);
