import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import {
  animatedWebpHeader,
  b64,
  dataUrl,
  GIF_1X1,
  landscapeJpeg,
  pngDeclaring,
  solidImage,
  textPng,
} from '../../support/images';

/** The api runtime hosts image-moderation@mobilenet-v2; every other image answer here is the gateway's own. */
const ROUTES = [
  { path: '/v1/images/moderations', model: 'image-moderation@mobilenet-v2' },
  { path: '/v1/images/ocr', model: 'ocr' },
] as const;

const MiB = 1024 * 1024;

describe.each(ROUTES)('bad images at $path: 4xx naming image, nothing billed', ({ path, model }) => {
  let h: Harness;
  let t: TestTenant;
  let png: Buffer;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    png = await solidImage('png');
  });

  async function expectRefused(image: unknown, status: number, code: string, words: string) {
    const res = await h.call(path, { key: t.key, json: { model, image } });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code, param: 'image' });
    expect(body.error.message).toContain(words);
    return body.error;
  }

  it.each([
    ['truncated base64', () => b64(png).slice(0, -3), 'not valid base64'],
    ['base64 with whitespace', () => `${b64(png).slice(0, 8)}\n${b64(png).slice(8)}`, 'not valid base64'],
    ['zero bytes (a data URL with nothing)', () => 'data:image/png;base64,', 'empty'],
    ['not an image', () => b64(Buffer.from('just some text, not pixels')), 'not a PNG, JPEG or WebP'],
    ['a GIF', () => b64(GIF_1X1), 'GIF'],
    ['an animated WebP', () => b64(animatedWebpHeader()), 'animated WebP'],
    ['an animated PNG', () => b64(pngDeclaring(8, 8, { animated: true })), 'animated PNG'],
    ['a truncated PNG header', () => b64(png.subarray(0, 20)), 'truncated'],
    ['a data URL of another type', () => dataUrl('text/plain', png), 'declared as text/plain'],
    ['a data URL whose type lies', () => dataUrl('image/jpeg', png), 'its bytes are image/png'],
  ])('%s: 400 invalid_image', async (_name, image, words) => {
    await expectRefused(image(), 400, 'invalid_image', words);
  });

  it('an empty string: 400 from validation, naming image', async () => {
    const res = await h.call(path, { key: t.key, json: { model, image: '' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('image');
  });

  it('a header declaring 100000 x 100000 pixels: 413 naming the pixel limit, never decoded', async () => {
    const err = await expectRefused(
      b64(pngDeclaring(100_000, 100_000)),
      413,
      'image_too_large',
      '100000x100000',
    );
    expect(err.message).toContain(String(4096 * 4096));
  });

  it('more bytes than the version allows: 413 naming the byte limit', async () => {
    const big = Buffer.concat([png, Buffer.alloc(4 * MiB + 1 - png.length, 1)]);
    await expectRefused(b64(big), 413, 'image_too_large', '4.0 MiB');
  });

  it('a body that is not JSON: 415', async () => {
    const res = await h.call(path, {
      key: t.key,
      body: png.toString('binary'),
      headers: { 'content-type': 'image/png' },
    });
    expect(res.status).toBe(415);
  });

  it('unknown model, version or alias, and a model of another task: 400 naming model', async () => {
    for (const [ref, code] of [
      ['no-such-model', 'model_not_found'],
      [`${model.split('@')[0]}@v99`, 'model_not_found'],
      [`${model.split('@')[0]}@nightly`, 'model_not_found'],
      ['sentiment', 'invalid_request'],
    ] as const) {
      const res = await h.call(path, { key: t.key, json: { model: ref, image: b64(png) } });
      expect(res.status, ref).toBe(400);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code, param: 'model' });
    }
  });

  it('nothing above was metered', async () => {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });
});

describe('POST /v1/images/moderations against mobilenet-v2', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  it('scores a harmless image, does not flag it, and bills one image at the version price', async () => {
    const res = await h.call('/v1/images/moderations', {
      key: t.key,
      json: { model: 'image-moderation@mobilenet-v2', image: dataUrl('image/jpeg', await landscapeJpeg()) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-version')).toBe('image-moderation@mobilenet-v2');
    const body = (await res.json()) as {
      id: string;
      object: string;
      model: string;
      results: {
        flagged: boolean;
        categories: Record<string, boolean>;
        category_scores: Record<string, number>;
      }[];
      usage: { images: number; cost_usd: string };
    };
    expect(body).toMatchObject({ object: 'moderation', model: 'image-moderation@mobilenet-v2' });
    const [result] = body.results;
    expect(Object.keys(result!.category_scores).sort()).toEqual([
      'drawing',
      'hentai',
      'neutral',
      'porn',
      'sexy',
    ]);
    const sum = Object.values(result!.category_scores).reduce((s, x) => s + x, 0);
    expect(sum).toBeCloseTo(1, 3);
    expect(result!.flagged).toBe(false);
    expect(result!.categories.porn).toBe(false);
    expect(body.usage).toEqual({ images: 1, cost_usd: '0.000500000' });
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: body.id,
      model: 'image-moderation',
      version: 'mobilenet-v2',
      units: { images: 1 },
      costNanoUsd: 500_000,
    });
  });

  it('an image whose data is cut off: 400 invalid_image from the gateway, before the model, not counted', async () => {
    const other = await h.newTenant();
    const text = await textPng('TRUNCATED');
    const res = await h.call('/v1/images/moderations', {
      key: other.key,
      json: {
        model: 'image-moderation@mobilenet-v2',
        image: b64(text.subarray(0, Math.floor(text.length / 2))),
      },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'invalid_image', param: 'image' });
    expect(body.error.message).toContain('truncated PNG');
    expect(await h.stores.usage.listEvents(other.tenantId)).toEqual([]);
    const peek = await h.stores.quotas.peek(other.tenantId, other.keyId, new Date());
    expect(peek.tenant?.requests ?? 0).toBe(0);
  });

  it('a whole image whose data is corrupt: 400 invalid_image from the model, not billed', async () => {
    const other = await h.newTenant();
    const corrupt = Buffer.from(await textPng('CORRUPT'));
    corrupt.fill(0x55, 60, corrupt.length - 20); // the IEND chunk at the end stays
    const res = await h.call('/v1/images/moderations', {
      key: other.key,
      json: { model: 'image-moderation@mobilenet-v2', image: b64(corrupt) },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'invalid_image', param: 'image' });
    expect(body.error.message).toContain('could not be decoded');
    expect(await h.stores.usage.listEvents(other.tenantId)).toEqual([]);
    // The refused request's room went back to this instance's quota lease; given back, nothing is held.
    await h.deps.admission.close();
    expect(await h.stores.quotas.openReservations(other.tenantId)).toEqual([]);
  });

  it('a version the runtime does not host is one 503 model_not_installed, not retryable and not billed', async () => {
    const other = await h.newTenant();
    const res = await h.call('/v1/images/moderations', {
      key: other.key,
      json: { model: 'image-moderation@inception-v3', image: b64(await solidImage('png')) },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_installed');
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await h.stores.usage.listEvents(other.tenantId)).toEqual([]);
  });
});
