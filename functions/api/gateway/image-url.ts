import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/** Where an address may be reached from the gateway. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

const v4 = (ranges: [string, number, Exclude<AddressKind, 'public'>][]) => ranges;
/** Every IPv4 range that is not the public internet (RFC 6890 and friends). */
const V4_RANGES = v4([
  ['0.0.0.0', 8, 'reserved'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'reserved'],
  ['240.0.0.0', 4, 'reserved'],
]);
const V6_RANGES = v4([
  ['::', 128, 'reserved'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'reserved'],
  ['2001::', 23, 'reserved'],
  ['2001:db8::', 32, 'reserved'],
  ['2002::', 16, 'reserved'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'reserved'],
]);
const BLOCKS = new Map<Exclude<AddressKind, 'public'>, BlockList>();
for (const [family, ranges] of [
  ['ipv4', V4_RANGES],
  ['ipv6', V6_RANGES],
] as const) {
  for (const [net, prefix, kind] of ranges) {
    const list = BLOCKS.get(kind) ?? new BlockList();
    list.addSubnet(net, prefix, family);
    BLOCKS.set(kind, list);
  }
}

/** IPv4 inside IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`): judged as the IPv4 it carries. */
function embeddedV4(address: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = Number.parseInt(m[2]!, 16);
  const lo = Number.parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** What kind of address `address` (an IP literal) is; anything unparseable is `reserved`. */
export function addressKind(address: string): AddressKind {
  const family = isIP(address);
  if (family === 0) return 'reserved';
  const inner = family === 6 ? embeddedV4(address) : undefined;
  const [ip, type] = inner
    ? [inner, 'ipv4' as const]
    : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  for (const [kind, list] of BLOCKS) if (list.check(ip, type)) return kind;
  return 'public';
}

export type ImageUrlPolicy = {
  /** Local only: `http` to loopback addresses (tests serve images from 127.0.0.1). */
  allowLoopbackHttp: boolean;
  /** The whole fetch, redirects included. */
  timeoutMs: number;
  /** Largest body read; a larger one is refused as soon as it is known to be larger. */
  maxBytes: number;
  maxRedirects?: number;
  /** DNS, every address of a name (tests give names their own addresses). */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
};

export type FetchedImage =
  | { ok: true; bytes: Buffer; contentType: string | undefined }
  | { ok: false; code: 'invalid_image_url' | 'image_too_large'; why: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

class Refused extends Error {
  constructor(
    readonly code: 'invalid_image_url' | 'image_too_large',
    why: string,
  ) {
    super(why);
  }
}

const resolveAll = async (hostname: string) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Fetches an image by URL for a model call, as a server that must not be turned against its own
 * network does: `https` only (plain `http` only to loopback, and only when the local-only setting
 * allows it), every address the name resolves to checked (no private, loopback, link-local or
 * reserved address), the connection made to the checked address (the name still goes in the Host
 * header and TLS SNI, and the certificate is checked against it), every redirect checked the same
 * way, a size cap and one deadline for all of it. Each refusal says why in words a caller can act on.
 */
export async function fetchImageUrl(url: string, policy: ImageUrlPolicy): Promise<FetchedImage> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), policy.timeoutMs);
  try {
    let current = url;
    for (let hop = 0; ; hop++) {
      const answer = await fetchOnce(current, policy, controller.signal);
      if (answer.kind === 'image') return { ok: true, bytes: answer.bytes, contentType: answer.contentType };
      if (hop >= (policy.maxRedirects ?? 3)) {
        throw new Refused('invalid_image_url', `redirects more than ${policy.maxRedirects ?? 3} times`);
      }
      current = answer.location;
    }
  } catch (err) {
    if (err instanceof Refused) return { ok: false, code: err.code, why: err.message };
    if (controller.signal.aborted) {
      return { ok: false, code: 'invalid_image_url', why: `did not answer within ${policy.timeoutMs} ms` };
    }
    const e = err as Error & { code?: string };
    return { ok: false, code: 'invalid_image_url', why: `could not be fetched (${e.code ?? e.message})` };
  } finally {
    clearTimeout(timer);
  }
}

type Hop =
  | { kind: 'image'; bytes: Buffer; contentType: string | undefined }
  | { kind: 'redirect'; location: string };

async function fetchOnce(raw: string, policy: ImageUrlPolicy, signal: AbortSignal): Promise<Hop> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Refused('invalid_image_url', 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Refused(
      'invalid_image_url',
      `uses ${url.protocol.replace(/:$/, '')}: only https URLs are fetched`,
    );
  }
  // Plain http can only ever be allowed to loopback: refuse it before asking DNS anything.
  if (url.protocol === 'http:' && !policy.allowLoopbackHttp) {
    throw new Refused('invalid_image_url', 'uses http: only https URLs are fetched');
  }
  if (url.username || url.password)
    throw new Refused('invalid_image_url', 'must not carry a user name or password');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(hostname)
    ? [{ address: hostname, family: isIP(hostname) }]
    : await (policy.resolve ?? resolveAll)(hostname).catch(() => {
        throw new Refused('invalid_image_url', `names a host that does not resolve (${hostname})`);
      });
  if (addresses.length === 0)
    throw new Refused('invalid_image_url', `names a host that does not resolve (${hostname})`);
  const kinds = addresses.map((a) => addressKind(a.address));
  const loopbackOnly = kinds.every((k) => k === 'loopback');
  const allowed = kinds.every((k) => k === 'public') || (loopbackOnly && policy.allowLoopbackHttp);
  if (!allowed) {
    const bad = kinds.find((k) => k !== 'public')!;
    throw new Refused('invalid_image_url', `resolves to a ${bad} address, which is not fetched`);
  }
  if (url.protocol === 'http:' && !(loopbackOnly && policy.allowLoopbackHttp)) {
    throw new Refused('invalid_image_url', 'uses http: only https URLs are fetched');
  }
  const target = addresses[0]!;
  return new Promise<Hop>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method: 'GET',
        signal,
        headers: { accept: 'image/png, image/jpeg, image/webp', 'user-agent': 'Tollgate-ImageFetcher/1' },
        // Connect to the address checked above, never to what a second lookup might say.
        lookup: (_host, options, callback) => {
          const cb = callback as (...args: unknown[]) => void;
          if ((options as { all?: boolean }).all)
            cb(null, [{ address: target.address, family: target.family }]);
          else cb(null, target.address, target.family);
        },
        ...(url.protocol === 'https:' && !isIP(hostname) ? { servername: hostname } : {}),
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          const location = res.headers.location;
          if (!location)
            return reject(new Refused('invalid_image_url', `answered ${status} without a Location`));
          return resolve({ kind: 'redirect', location: new URL(location, url).href });
        }
        if (status !== 200) {
          res.resume();
          return reject(new Refused('invalid_image_url', `answered HTTP ${status}`));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > policy.maxBytes) {
          res.destroy();
          return reject(new Refused('image_too_large', `is ${declared} bytes, more than ${policy.maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxBytes) {
            res.destroy();
            reject(new Refused('image_too_large', `is more than ${policy.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ kind: 'image', bytes: Buffer.concat(chunks), contentType: res.headers['content-type'] }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
