/**
 * The console's only way to the platform: its public JSON API, on the same origin. Sessions are
 * HttpOnly cookies the page never sees; an expired access token is refreshed once (POST
 * /auth/refresh with the refresh cookie) and the request retried.
 */

export interface ErrorEnvelope {
  message: string;
  type: string;
  code: string;
  param: string | null;
  request_id?: string;
}

export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly error: ErrorEnvelope,
  ) {
    super(error.message);
  }
  get code(): string {
    return this.error.code;
  }
  get param(): string | null {
    return this.error.param;
  }
  /** The route itself does not exist on this server: a feature that has not been deployed yet. */
  get routeMissing(): boolean {
    return this.status === 404 && /^No route for /.test(this.error.message);
  }
}

/** Any error as an ApiFailure: a network failure or a bug becomes a `client_error` with its message. */
export function asFailure(err: unknown): ApiFailure {
  if (err instanceof ApiFailure) return err;
  return new ApiFailure(0, {
    message: err instanceof Error ? err.message : String(err),
    type: 'client_error',
    code: 'client_error',
    param: null,
  });
}

/** Fired when the session is gone for good (refresh refused): the app goes back to the login page. */
export const sessionEvents = new EventTarget();

export type Auth = 'session' | 'none' | { apiKey: string };

export interface RequestOptions {
  /** JSON, or a FormData (sent as multipart). */
  body?: unknown;
  auth?: Auth;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

const SESSION_CODES = new Set(['token_expired', 'missing_credentials', 'invalid_token']);
let refreshing: Promise<boolean> | null = null;

/** Trades the refresh cookie for a new pair; concurrent callers share one attempt. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= fetch('/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    credentials: 'same-origin',
  })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      setTimeout(() => {
        refreshing = null;
      }, 0);
    });
  return refreshing;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  // A FormData body (a file upload) goes as multipart: the browser sets its type and boundary.
  const form = opts.body instanceof FormData;
  if (opts.body !== undefined && !form) headers['content-type'] = 'application/json';
  if (opts.auth && typeof opts.auth === 'object') headers.authorization = `Bearer ${opts.auth.apiKey}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : form ? (opts.body as FormData) : JSON.stringify(opts.body),
      credentials: opts.auth && typeof opts.auth === 'object' ? 'omit' : 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiFailure(0, {
      message: 'Could not reach the API. Check your connection and try again.',
      type: 'network_error',
      code: 'network_error',
      param: null,
    });
  }
}

/** Reads an answer's error envelope, or describes an answer that has none. */
export async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: ErrorEnvelope };
    if (parsed.error && typeof parsed.error.message === 'string')
      return new ApiFailure(res.status, parsed.error);
  } catch {
    // Not JSON: described below.
  }
  return new ApiFailure(res.status, {
    message: `The API answered ${res.status} ${res.statusText || ''} without an error description.`.trim(),
    type: 'api_error',
    code: 'unexpected_response',
    param: null,
    request_id: res.headers.get('x-request-id') ?? undefined,
  });
}

/**
 * Sends a request and returns the raw response when it succeeded (2xx), after one refresh-and-retry
 * for an expired session. Failures throw ApiFailure carrying the API's error envelope.
 */
export async function call(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const auth = opts.auth ?? 'session';
  let res = await send(method, path, { ...opts, auth });
  if (res.status === 401 && auth === 'session') {
    const failure = await failureOf(res.clone());
    if (SESSION_CODES.has(failure.code)) {
      if (await refreshSession()) res = await send(method, path, { ...opts, auth });
      if (res.status === 401) sessionEvents.dispatchEvent(new Event('expired'));
    }
  }
  if (!res.ok) throw await failureOf(res);
  return res;
}

/** `call` for JSON answers (a 204 gives `undefined`). */
export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await call(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => api<T>('GET', path, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) =>
  api<T>('POST', path, { ...opts, body: body ?? {} });

/** Builds a query string from the defined values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
