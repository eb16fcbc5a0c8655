/**
 * Downloads a model's files from a Hugging Face hub (`HF_ENDPOINT`, default https://huggingface.co)
 * into the models folder, the way a flaky laptop connection needs it:
 * - every file's size and checksum come from the hub before any byte is fetched (a `HEAD` on
 *   `/<id>/resolve/<revision>/<file>` without following the redirect: `x-linked-size` and
 *   `x-linked-etag`, the LFS SHA-256, for weights; `content-length` and `etag`, the git blob SHA-1,
 *   for small files), and every file of one download comes from the one commit the first answer names;
 * - files are fetched into `<id>.partial/` and resumed with an HTTP `Range` after an interruption
 *   (a restart of `npm start` carries on where the last one stopped);
 * - a file whose size or checksum is wrong is refused and deleted, never kept or served;
 * - only a complete, verified folder is renamed into place, so the runtime never loads half a model.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type HubDownloadOptions = {
  /** Hub model id, e.g. `HuggingFaceTB/SmolLM2-360M-Instruct`. */
  id: string;
  /** Files that must exist, in the repository's layout. */
  files: string[];
  /** Files fetched when the hub has them. */
  optional?: string[];
  /** The models folder; the model lands in `<root>/<id>`. */
  root: string;
  /** The hub's base URL. */
  endpoint: string;
  token?: string;
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Called as bytes arrive: what this download has (including what a resumed one had) of `total`. */
  onProgress?: (p: { received: number; total: number }) => void;
  /** Longest wait for an answer to start, or between two chunks. */
  idleTimeoutMs?: number;
};

export type HubDownloadResult = { dir: string; revision: string; bytes: number; resumedBytes: number };

/** The hub cannot be reached at all (no network): nothing was changed. */
export class HubUnreachableError extends Error {
  override name = 'HubUnreachableError';
}

/** The hub answered, but not with what was asked (404, 401, no checksum, a wrong size or checksum). */
export class HubDownloadError extends Error {
  override name = 'HubDownloadError';
}

type Remote = { file: string; size: number; checksum: { kind: 'sha256' | 'git-sha1'; hex: string } };

const ID_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

const quoteless = (etag: string | null) => etag?.replace(/^W\//, '').replace(/"/g, '').trim() ?? '';

async function request(url: string, init: RequestInit, opts: HubDownloadOptions): Promise<Response> {
  const headers = new Headers(init.headers);
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  try {
    return await fetch(url, { ...init, headers, signal: AbortSignal.timeout(opts.idleTimeoutMs ?? 30_000) });
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new HubUnreachableError(`could not reach ${new URL(url).host} (${cause})`);
  }
}

/** Size and checksum of one file, from the hub's answer to a HEAD that does not follow the redirect. */
async function describe(
  base: string,
  file: string,
  opts: HubDownloadOptions,
): Promise<{ remote: Remote | null; commit: string | null }> {
  const res = await request(`${base}/${file}`, { method: 'HEAD', redirect: 'manual' }, opts);
  if (res.status === 404) return { remote: null, commit: null };
  if (res.status >= 400) throw new HubDownloadError(`${file}: the hub answered ${res.status}`);
  const linked = quoteless(res.headers.get('x-linked-etag'));
  const etag = linked || quoteless(res.headers.get('etag'));
  const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? Number.NaN);
  let checksum: Remote['checksum'];
  if (/^[0-9a-f]{64}$/.test(etag)) checksum = { kind: 'sha256', hex: etag };
  else if (/^[0-9a-f]{40}$/.test(etag)) checksum = { kind: 'git-sha1', hex: etag };
  else
    throw new HubDownloadError(
      `${file}: the hub gave no checksum (etag '${etag}'), so it cannot be verified`,
    );
  if (!Number.isSafeInteger(size) || size < 0) throw new HubDownloadError(`${file}: the hub gave no size`);
  return { remote: { file, size, checksum }, commit: res.headers.get('x-repo-commit') };
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** The file's checksum as the hub states it: SHA-256 of the bytes, or git's SHA-1 of the blob. */
async function checksumOf(path: string, remote: Remote): Promise<string> {
  const hash = createHash(remote.checksum.kind === 'sha256' ? 'sha256' : 'sha1');
  if (remote.checksum.kind === 'git-sha1') hash.update(`blob ${await sizeOf(path)}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Fetches `remote` into `path`, resuming from what is there; verifies it; deletes it when wrong. */
async function fetchFile(
  url: string,
  path: string,
  remote: Remote,
  opts: HubDownloadOptions,
  progress: (n: number) => void,
) {
  await mkdir(dirname(path), { recursive: true });
  let have = await sizeOf(path);
  if (have > remote.size) {
    await rm(path, { force: true });
    have = 0;
  }
  if (have < remote.size) {
    const res = await request(
      url,
      { redirect: 'follow', headers: have > 0 ? { range: `bytes=${have}-` } : {} },
      opts,
    );
    if (!res.ok || !res.body) throw new HubDownloadError(`${remote.file}: the hub answered ${res.status}`);
    // A server that ignores the range sends the whole file again: start it over.
    const append = have > 0 && res.status === 206;
    if (!append && have > 0) {
      progress(-have);
      have = 0;
    }
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        progress(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as never),
        count,
        createWriteStream(path, { flags: append ? 'a' : 'w' }),
      );
    } catch (error) {
      // What arrived stays on disk for the next attempt to resume from.
      throw new HubUnreachableError(`${remote.file}: the download was cut off (${(error as Error).message})`);
    }
  }
  const size = await sizeOf(path);
  const sum = size === remote.size ? await checksumOf(path, remote) : '';
  if (sum !== remote.checksum.hex) {
    await rm(path, { force: true });
    throw new HubDownloadError(
      size !== remote.size
        ? `${remote.file}: got ${size} bytes, the hub says ${remote.size}; the file was deleted`
        : `${remote.file}: ${remote.checksum.kind} ${sum} is not the hub's ${remote.checksum.hex}; the file was deleted`,
    );
  }
}

/** What a partial folder was fetching: if the hub's files changed since, its bytes are worthless. */
type PartialState = { revision: string; files: Remote[] };

export async function downloadHubModel(opts: HubDownloadOptions): Promise<HubDownloadResult> {
  if (!ID_RE.test(opts.id)) throw new HubDownloadError(`'${opts.id}' is not a hub model id like org/name`);
  const endpoint = opts.endpoint.replace(/\/$/, '');
  const target = join(opts.root, opts.id);
  const partial = `${target}.partial`;
  const stateFile = join(partial, '.download.json');

  // Sizes and checksums first, all from the commit the first answer names.
  let revision = opts.revision ?? 'main';
  const remotes: Remote[] = [];
  for (const [i, file] of [...opts.files, ...(opts.optional ?? [])].entries()) {
    const { remote, commit } = await describe(`${endpoint}/${opts.id}/resolve/${revision}`, file, opts);
    if (i === 0 && commit && /^[0-9a-f]{40}$/.test(commit)) revision = commit;
    if (remote) remotes.push(remote);
    else if (i < opts.files.length)
      throw new HubDownloadError(`${file}: not found in ${opts.id} at ${revision}`);
  }

  const previous = await readFile(stateFile, 'utf8').then(
    (text) => JSON.parse(text) as PartialState,
    () => null,
  );
  if (previous && JSON.stringify(previous.files) !== JSON.stringify(remotes)) {
    await rm(partial, { recursive: true, force: true });
  }
  await mkdir(partial, { recursive: true });
  await writeFile(stateFile, JSON.stringify({ revision, files: remotes } satisfies PartialState));

  const total = remotes.reduce((n, r) => n + r.size, 0);
  let received = 0;
  for (const r of remotes) received += Math.min(await sizeOf(join(partial, r.file)), r.size);
  const resumedBytes = received;
  const progress = (n: number) => {
    received += n;
    opts.onProgress?.({ received, total });
  };
  progress(0);
  for (const r of remotes) {
    await fetchFile(
      `${endpoint}/${opts.id}/resolve/${revision}/${r.file}`,
      join(partial, r.file),
      r,
      opts,
      progress,
    );
  }
  await writeFile(
    join(partial, 'tollgate-source.json'),
    `${JSON.stringify({ hub: endpoint, id: opts.id, revision, files: remotes, fetchedAt: new Date().toISOString() }, null, 2)}\n`,
  );
  await rm(stateFile, { force: true });
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
  return { dir: target, revision, bytes: total, resumedBytes };
}
