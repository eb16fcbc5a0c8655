import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * The statuses the api tests see, kept so test/api-statuses/ can hold them against /openapi.json.
 *
 * How it works, end to end:
 * 1. The api project's global setup starts a run: a folder `test-results/api-statuses/<run>/`
 *    (`startStatusRun`), named to the workers and to the checker in STATUS_RUN_ENV.
 * 2. Every app the harness builds is wrapped (`recordStatuses`): each answer it gives, through
 *    `h.call` or `h.app.request`, appends one line `{ method, path, status, test }` to a file of
 *    this worker's own (test files run in parallel workers; one file each, so no two write one file).
 * 3. The `api-statuses` project runs after the api project (vitest.config.ts, groupOrder), reads
 *    that run's folder (or, run alone, the newest one) and fails when a route answered a status its
 *    spec does not list.
 * A run of a few api files checks what those files saw; a full run checks everything. Two runs at
 * once in one checkout keep to their own folders.
 */

const ROOT = resolve(import.meta.dirname, '../../test-results/api-statuses');
/** The environment variable naming this run's folder (set by the api project's global setup). */
export const STATUS_RUN_ENV = 'TOLLGATE_API_STATUS_RUN';
const DAY_MS = 86_400_000;

export interface ObservedStatus {
  method: string;
  /** The path as requested, e.g. `/account/keys/key_01J.../revoke`. */
  path: string;
  status: number;
  /** The test file (and test) that saw it first in its worker. */
  test: string;
}

/** A new run's folder, named in STATUS_RUN_ENV; runs older than a day are deleted. */
export function startStatusRun(): string {
  mkdirSync(ROOT, { recursive: true });
  for (const name of readdirSync(ROOT)) {
    const old = join(ROOT, name);
    if (Date.now() - statSync(old).mtimeMs > DAY_MS) rmSync(old, { recursive: true, force: true });
  }
  const dir = join(ROOT, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.env[STATUS_RUN_ENV] = dir;
  return dir;
}

const seen = new Set<string>();
let file: string | undefined;

function record(method: string, url: string, status: number, test: string): void {
  const path = new URL(url).pathname;
  const key = `${method} ${path} ${status}`;
  if (seen.has(key)) return;
  seen.add(key);
  const dir = process.env[STATUS_RUN_ENV];
  if (!dir) return; // not under the api project's setup: nothing to check against
  file ??= join(dir, `${process.pid}-${threadId}.jsonl`);
  appendFileSync(file, `${JSON.stringify({ method, path, status, test } satisfies ObservedStatus)}\n`);
}

/**
 * Wraps `app.fetch` (which `app.request` calls too) so every answer of `app` is recorded, with
 * `currentTest()` naming the test that asked.
 */
export function recordStatuses<
  A extends { fetch: (req: Request, ...rest: never[]) => Response | Promise<Response> },
>(app: A, currentTest: () => string): A {
  const fetch = app.fetch;
  app.fetch = (async (req: Request, ...rest: never[]) => {
    const res = await fetch(req, ...rest);
    record(req.method, req.url, res.status, currentTest());
    return res;
  }) as A['fetch'];
  return app;
}

/** This run's folder, or the newest run's when the api project did not run in this process. */
function runFolder(): string | undefined {
  const own = process.env[STATUS_RUN_ENV];
  if (own) return own;
  try {
    return readdirSync(ROOT)
      .map((name) => join(ROOT, name))
      .filter((p) => statSync(p).isDirectory())
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

/** Every status the api tests recorded in this run (see `runFolder`), and where they are. */
export function readObservedStatuses(): { folder: string | undefined; observed: ObservedStatus[] } {
  const folder = runFolder();
  if (!folder) return { folder, observed: [] };
  const names = readdirSync(folder).filter((n) => n.endsWith('.jsonl'));
  const observed = names.flatMap((n) =>
    readFileSync(join(folder, n), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ObservedStatus),
  );
  return { folder, observed };
}
