import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchImageUrl } from '#api/gateway/image-url';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { solidImage } from '../../support/images';

const MODEL = 'image-moderation@mobilenet-v2';
const MiB = 1024 * 1024;

/**
 * A web server on 127.0.0.1 standing in for the internet: images, a web page, an oversize image,
 * one that never finishes, and redirects (to itself, and to addresses the gateway must not reach).
 */
async function startImageServer(png: Buffer) {
  const hosts: string[] = [];
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    const path = req.url ?? '/';
    if (path === '/ok.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (path === '/unlabelled.png') return void res.writeHead(200).end(png);
    if (path === '/page.html')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not an image</html>');
    if (path === '/big.png') {
      return void res
        .writeHead(200, { 'content-type': 'image/png' })
        .end(Buffer.concat([png, Buffer.alloc(4 * MiB)]));
    }
    if (path === '/big-chunked.png') {
      // No Content-Length: the size is only known while reading.
      res.writeHead(200, { 'content-type': 'image/png', 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(MiB));
      return void res.end();
    }
    if (path === '/slow.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(png.subarray(0, 16));
      return; // never ends
    }
    if (path === '/to-ok') return void res.writeHead(302, { location: '/ok.png' }).end();
    if (path === '/to-metadata')
      return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (path === '/to-private') return void res.writeHead(301, { location: 'https://10.0.0.5/x.png' }).end();
    if (path === '/to-internal-name')
      return void res.writeHead(307, { location: 'http://internal.test/x.png' }).end();
    if (path === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, port, base: `http://127.0.0.1:${port}`, hosts };
}

type ErrorBody = { error: { code: string; param: string; message: string } };

describe('image URLs', () => {
  let png: Buffer;
  let site: Awaited<ReturnType<typeof startImageServer>>;
  let local: Harness; // IMAGE_URL_ALLOW_LOOPBACK_HTTP on, as tests run locally
  let strict: Harness; // the default: what the cloud does
  let t: TestTenant;
  let u: TestTenant;

  beforeAll(async () => {
    png = await solidImage('png');
    site = await startImageServer(png);
    local = await createHarness({
      env: { IMAGE_URL_ALLOW_LOOPBACK_HTTP: 'true', IMAGE_URL_TIMEOUT_MS: '500' },
    });
    strict = await createHarness();
    t = await local.newTenant();
    u = await strict.newTenant();
  });
  afterAll(() => {
    site?.server.closeAllConnections();
    site?.server.close();
  });

  const billed = async (h: Harness, who: TestTenant) =>
    (await h.stores.usage.listEvents(who.tenantId)).length;

  async function refused(
    h: Harness,
    who: TestTenant,
    image: unknown,
    status: number,
    code: string,
    words: string,
  ) {
    const before = await billed(h, who);
    const res = await h.call('/v1/images/moderations', { key: who.key, json: { model: MODEL, image } });
    expect(res.status).toBe(status);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe(code);
    expect(error.message).toContain(words);
    expect(await billed(h, who)).toBe(before);
    return error;
  }

  it('an image at a URL is fetched and served, in each of the shapes OpenAI accepts', async () => {
    const url = `${site.base}/ok.png`;
    for (const image of [url, { url }, { type: 'image_url', image_url: { url, detail: 'auto' } }]) {
      const before = await billed(local, t);
      const res = await local.call('/v1/images/moderations', { key: t.key, json: { model: MODEL, image } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { results: unknown[]; usage: { images: number } };
      expect(body.results).toHaveLength(1);
      expect(body.usage.images).toBe(1);
      expect(await billed(local, t)).toBe(before + 1);
    }
    // The type comes from the bytes, not the server's label; a redirect to an allowed place is followed.
    for (const path of ['/unlabelled.png', '/to-ok']) {
      const res = await local.call('/v1/images/moderations', {
        key: t.key,
        json: { model: MODEL, image: { url: `${site.base}${path}` } },
      });
      expect(res.status, path).toBe(200);
    }
  });

  it('loopback is refused without the local setting, by address or by name', async () => {
    const plain = await refused(
      strict,
      u,
      { url: `${site.base}/ok.png` },
      400,
      'invalid_image_url',
      'only https',
    );
    expect(plain.param).toBe('image.url');
    for (const url of [`https://127.0.0.1:${site.port}/ok.png`, 'https://[::1]/x.png']) {
      const error = await refused(strict, u, { url }, 400, 'invalid_image_url', 'loopback address');
      expect(error.param).toBe('image.url');
    }
    await refused(strict, u, 'https://localhost/x.png', 400, 'invalid_image_url', 'loopback address');
  });

  it.each([
    ['https://10.0.0.1/x.png', 'private address'],
    ['https://192.168.1.20/x.png', 'private address'],
    ['https://[fd00::1]/x.png', 'private address'],
    ['https://[::ffff:10.0.0.1]/x.png', 'private address'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local address'],
    ['https://[fe80::1]/x.png', 'link-local address'],
    ['https://0.0.0.0/x.png', 'reserved address'],
  ])('%s is refused before any connection, with the setting on or off', async (url, words) => {
    await refused(strict, u, url, 400, 'invalid_image_url', words);
    await refused(local, t, url, 400, 'invalid_image_url', words);
  });

  it('only https (and http to loopback only with the local setting)', async () => {
    await refused(strict, u, 'http://93.184.216.34/x.png', 400, 'invalid_image_url', 'only https');
    await refused(local, t, 'http://93.184.216.34/x.png', 400, 'invalid_image_url', 'only https');
    const error = await refused(
      local,
      t,
      { type: 'image_url', image_url: { url: 'ftp://93.184.216.34/x.png' } },
      400,
      'invalid_image_url',
      'only https',
    );
    expect(error.param).toBe('image.image_url.url');
  });

  it('a redirect to a private or link-local address is refused, as is an endless one', async () => {
    await refused(local, t, `${site.base}/to-metadata`, 400, 'invalid_image_url', 'link-local address');
    await refused(local, t, `${site.base}/to-private`, 400, 'invalid_image_url', 'private address');
    await refused(local, t, `${site.base}/loop`, 400, 'invalid_image_url', 'redirects more than 3 times');
  });

  it("more bytes than the version's limit: 413, whether the server says so up front or not", async () => {
    await refused(local, t, `${site.base}/big.png`, 413, 'image_too_large', '4.0 MiB');
    await refused(local, t, `${site.base}/big-chunked.png`, 413, 'image_too_large', '4.0 MiB');
  });

  it('a server too slow for IMAGE_URL_TIMEOUT_MS: 400, nothing billed', async () => {
    await refused(
      local,
      t,
      `${site.base}/slow.png`,
      400,
      'invalid_image_url',
      'did not answer within 500 ms',
    );
  });

  it('not an image (whatever the server calls it), or an error status: 400', async () => {
    await refused(local, t, `${site.base}/page.html`, 400, 'invalid_image', 'its server sent text/html');
    await refused(local, t, `${site.base}/missing.png`, 400, 'invalid_image_url', 'answered HTTP 404');
  });
});

describe('the image fetcher and DNS', () => {
  let site: Awaited<ReturnType<typeof startImageServer>>;
  // Names the tests give addresses: one image host, one internal name, one with a private record among public ones.
  const names: Record<string, { address: string; family: number }[]> = {
    'img.test': [{ address: '127.0.0.1', family: 4 }],
    'internal.test': [{ address: '10.0.0.5', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '192.168.0.9', family: 4 },
    ],
  };
  const policy = {
    allowLoopbackHttp: true,
    timeoutMs: 2_000,
    maxBytes: MiB,
    resolve: async (name: string) => {
      const found = names[name];
      if (!found) throw new Error(`ENOTFOUND ${name}`);
      return found;
    },
  };

  beforeAll(async () => {
    site = await startImageServer(await solidImage('png'));
  });
  afterAll(() => {
    site?.server.closeAllConnections();
    site?.server.close();
  });

  it('connects to the address it checked, and sends the name as the Host', async () => {
    const got = await fetchImageUrl(`http://img.test:${site.port}/ok.png`, policy);
    expect(got.ok).toBe(true);
    expect(site.hosts.at(-1)).toBe(`img.test:${site.port}`);
  });

  it('refuses a name whose addresses are private, even one of several', async () => {
    expect(await fetchImageUrl('https://internal.test/x.png', policy)).toMatchObject({
      ok: false,
      why: expect.stringContaining('private address'),
    });
    expect(await fetchImageUrl('https://mixed.test/x.png', policy)).toMatchObject({
      ok: false,
      why: expect.stringContaining('private address'),
    });
    expect(await fetchImageUrl('https://nowhere.test/x.png', policy)).toMatchObject({
      ok: false,
      why: expect.stringContaining('does not resolve'),
    });
  });

  it('checks the name a redirect leads to again', async () => {
    expect(await fetchImageUrl(`http://img.test:${site.port}/to-internal-name`, policy)).toMatchObject({
      ok: false,
      code: 'invalid_image_url',
      why: expect.stringContaining('private address'),
    });
  });
});
