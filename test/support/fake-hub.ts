import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTinyChatOnnx, tinyChatFiles } from '../../local/models/tiny-chat';

/** The commit every file of the fake hub is "at". */
export const HUB_COMMIT = 'c0ffee0123456789abcdef0123456789abcdef01';

/**
 * The project's own tiny chat model in the hub's layout, as the files a real text-generation repo
 * has (`onnx/model_quantized.onnx` is what dtype q8 loads): the download is tested end to end
 * without the network.
 */
export function tinyModelRepo(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [name, content] of Object.entries(tinyChatFiles())) {
    files.set(name, Buffer.from(`${JSON.stringify(content, null, 2)}\n`));
  }
  files.set('onnx/model_quantized.onnx', Buffer.from(buildTinyChatOnnx()));
  return files;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export interface FakeHub {
  url: string;
  /** Range headers of the weights' GETs, in order (null: none). */
  ranges: (string | null)[];
  /** The next GET of a weights file sends this many bytes, then drops the connection. */
  cutNextAfter(bytes: number): void;
  /** Serves these files with one byte changed (the headers still name the true checksum). */
  corrupt: Set<string>;
  close(): Promise<void>;
}

/**
 * A Hugging Face hub at the machine's edge, answering as huggingface.co does: `HEAD` and `GET` on
 * `/<id>/resolve/<revision>/<file>` with `x-repo-commit`; small files inline with their git blob
 * SHA-1 as `etag`; weights (LFS) as a 302 to a content-addressed URL with `x-linked-etag` (their
 * SHA-256) and `x-linked-size`; ranges answered with 206.
 */
export async function startFakeHub(repos: Record<string, Map<string, Buffer>>): Promise<FakeHub> {
  const ranges: (string | null)[] = [];
  const corrupt = new Set<string>();
  let cutAfter: number | null = null;
  const blobs = new Map<string, { file: string; bytes: Buffer }>();
  for (const files of Object.values(repos)) {
    for (const [file, bytes] of files) if (file.endsWith('.onnx')) blobs.set(sha256(bytes), { file, bytes });
  }
  const served = (file: string, bytes: Buffer) => {
    if (!corrupt.has(file)) return bytes;
    const copy = Buffer.from(bytes);
    copy[copy.length >> 1] = (copy[copy.length >> 1] ?? 0) ^ 0xff;
    return copy;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const blob = blobs.get(cdn[1] as string);
      if (!blob) return void res.writeHead(404).end();
      const body = served(blob.file, blob.bytes);
      const range = req.headers.range ?? null;
      ranges.push(range);
      const from = range ? Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0) : 0;
      const part = body.subarray(from);
      res.writeHead(range ? 206 : 200, {
        'content-length': part.length,
        'content-type': 'application/octet-stream',
        ...(range ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
      });
      if (cutAfter !== null) {
        const n = cutAfter;
        cutAfter = null;
        // Dropped a moment after the bytes are flushed: a connection reset that races the client's
        // read can discard the last chunk before it reaches the disk, and then nothing is resumed.
        res.write(part.subarray(0, n), () => setTimeout(() => res.destroy(), 300));
        return;
      }
      res.end(part);
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const files = m ? repos[m[1] as string] : undefined;
    const file = m?.[3] as string;
    const bytes = files?.get(file);
    if (!m || !bytes || (m[2] !== 'main' && m[2] !== HUB_COMMIT)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end('{"error":"Entry not found"}');
    }
    const common = { 'x-repo-commit': HUB_COMMIT };
    if (file.endsWith('.onnx')) {
      res.writeHead(302, {
        ...common,
        location: `/cdn/${sha256(bytes)}`,
        'x-linked-etag': `"${sha256(bytes)}"`,
        'x-linked-size': String(bytes.length),
        etag: `"${gitSha1(Buffer.from(`oid sha256:${sha256(bytes)}`))}"`,
        'content-length': 0,
      });
      return void res.end();
    }
    const body = served(file, bytes);
    res.writeHead(200, { ...common, etag: `"${gitSha1(bytes)}"`, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ranges,
    corrupt,
    cutNextAfter: (n) => {
      cutAfter = n;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
