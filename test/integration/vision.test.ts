import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { CatalogAdmin, type ChangeBy } from '../../shared/catalog/catalog-admin';
import { loadConfig } from '../../shared/config';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { b64, dataUrl, landscapeJpeg, textPng } from '../support/images';

/** Catalog changes made by the test itself, as the CLI would make them. */
const SYSTEM: ChangeBy = { actor: { kind: 'system', id: 'test' }, requestId: null };

// The stack's runtime inherits this: the fault route lets a test kill a model's worker mid-call.
process.env.RUNTIME_FAULTS = '1';
process.env.RUNTIME_MODELS = 'all';

type Moderation = {
  model: string;
  results: {
    flagged: boolean;
    categories: Record<string, boolean>;
    category_scores: Record<string, number>;
  }[];
  usage: { images: number; cost_usd: string };
};
type Ocr = {
  model: string;
  text: string;
  lines: { text: string; confidence: number; box: [number, number][] }[];
  usage: { images: number; cost_usd: string };
};

const MODERATION = [
  ['mobilenet-v2', '0.000500000'],
  ['mobilenet-v2-mid', '0.000400000'],
  ['inception-v3', '0.001500000'],
] as const;
const OCR = [
  ['ppocr-v4', '0.001500000'],
  ['tesseract-5', '0.001000000'],
] as const;

/**
 * The whole local stack over HTTP with every real model: DynamoDB Local, the runtime process with
 * its worker threads (each heavy model loads once for this file), and the gateway.
 */
describe('vision models through the gateway', () => {
  let stack: LocalStack;
  let stores: Stores;
  let key: string;
  let tenantId: string;
  let text: Buffer;
  let landscape: Buffer;

  const post = (path: string, json: unknown) =>
    fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      TOLLGATE_IN_MEMORY: 'true',
      LOG_LEVEL: 'silent',
      // The operator changes below must reach the gateway at once.
      CATALOG_CACHE_TTL_MS: '0',
    });
    stack = await startLocalStack(config, createLogger('silent'));
    stores = createStores(stack.config);
    // An enterprise tenant: the burst below must meet the runtime's queue, not the plan's limits.
    tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Vision',
      status: 'active',
      plan: 'enterprise',
      createdAt: new Date().toISOString(),
    });
    key = (await issueApiKey(stores.apiKeys, { tenantId, name: 'vision' })).secret;
    [text, landscape] = await Promise.all([textPng('HELLO WORLD 42'), landscapeJpeg()]);
    // Vision models load in the background after the runtime listens; /ping turns 200 once all answer.
    const deadline = Date.now() + 110_000;
    while (Date.now() < deadline) {
      if ((await fetch(`${stack.runtimeUrl}/ping`)).ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await fetch(`${stack.runtimeUrl}/ping`)).status).toBe(200);
  });

  afterAll(async () => {
    stores?.dynamo.client.destroy();
    await stack?.stop();
  });

  it.each(MODERATION)(
    'image-moderation@%s scores five classes and does not flag harmless images',
    async (version, cost) => {
      for (const image of [dataUrl('image/jpeg', landscape), b64(text)]) {
        const res = await post('/v1/images/moderations', { model: `image-moderation@${version}`, image });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-model-version')).toBe(`image-moderation@${version}`);
        const body = (await res.json()) as Moderation;
        expect(body.model).toBe(`image-moderation@${version}`);
        const scores = body.results[0]!.category_scores;
        expect(Object.keys(scores).sort()).toEqual(['drawing', 'hentai', 'neutral', 'porn', 'sexy']);
        expect(Object.values(scores).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 3);
        expect(body.results[0]!.flagged).toBe(false);
        expect(scores.porn! + scores.hentai! + scores.sexy!).toBeLessThan(0.5);
        expect(body.usage).toEqual({ images: 1, cost_usd: cost });
      }
    },
  );

  it.each(OCR)(
    "ocr@%s reads 'HELLO WORLD 42' with a box and a confidence per line",
    async (version, cost) => {
      const res = await post('/v1/images/ocr', {
        model: `ocr@${version}`,
        image: dataUrl('image/png', text),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Ocr;
      expect(body.model).toBe(`ocr@${version}`);
      expect(body.text).toBe('HELLO WORLD 42');
      expect(body.lines).toHaveLength(1);
      const [line] = body.lines;
      expect(line!.text).toBe('HELLO WORLD 42');
      expect(line!.confidence).toBeGreaterThan(0.5);
      expect(line!.confidence).toBeLessThanOrEqual(1);
      expect(line!.box).toHaveLength(4);
      // The text was drawn from x=40 in an 800x200 image.
      const xs = line!.box.map(([x]) => x);
      expect(Math.min(...xs)).toBeGreaterThan(20);
      expect(Math.max(...xs)).toBeLessThan(800);
      expect(body.usage).toEqual({ images: 1, cost_usd: cost });
    },
  );

  it('/health reports the models as ok once they are loaded', async () => {
    const res = await fetch(`${stack.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', components: { models: 'ok' } });
  });

  it('aliases and defaults pick the versions the catalog says', async () => {
    const image = b64(text);
    for (const [path, model, served] of [
      ['/v1/images/moderations', 'image-moderation', 'image-moderation@mobilenet-v2'],
      ['/v1/images/moderations', 'image-moderation@latest', 'image-moderation@inception-v3'],
      ['/v1/images/moderations', 'image-moderation@fast', 'image-moderation@mobilenet-v2-mid'],
      ['/v1/images/ocr', 'ocr', 'ocr@ppocr-v4'],
      ['/v1/images/ocr', 'ocr@tesseract', 'ocr@tesseract-5'],
    ] as const) {
      const res = await post(path, { model, image });
      expect(res.status, model).toBe(200);
      expect(((await res.json()) as { model: string }).model).toBe(served);
    }
  });

  it('a worker that dies mid-call is a 502 that is not billed, and the model comes back', async () => {
    const before = (await stores.usage.listEvents(tenantId)).length;
    const crash = await fetch(`${stack.runtimeUrl}/faults/tollgate-local-ocr/tesseract-5/crash`, {
      method: 'POST',
    });
    expect(crash.status).toBe(204);
    const failed = await post('/v1/images/ocr', { model: 'ocr@tesseract-5', image: b64(text) });
    expect(failed.status).toBe(502);
    const error = ((await failed.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('model_error');
    expect(error.message).toContain('not billed');
    // While the worker restarts the gateway says so (503 model_loading); then it answers again.
    const seen: number[] = [];
    let recovered: Ocr | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !recovered) {
      const res = await post('/v1/images/ocr', { model: 'ocr@tesseract-5', image: b64(text) });
      seen.push(res.status);
      if (res.status === 200) recovered = (await res.json()) as Ocr;
      else {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBeTruthy();
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_loading');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(recovered?.text).toBe('HELLO WORLD 42');
    // Exactly one image billed: the recovered call; the failed one and the 503s were free.
    expect((await stores.usage.listEvents(tenantId)).length).toBe(before + 1);
  });

  it('a version whose time limit passes is a 504, not billed, and the runtime keeps serving', async () => {
    const created = await new CatalogAdmin(stores.catalog, stores.audit).createVersion(SYSTEM, {
      model: 'image-moderation',
      version: 'inception-v3-hasty',
      status: 'preview',
      releasedAt: new Date().toISOString(),
      sunsetAt: null,
      prices: { images: 1 },
      priceBook: 'pb-test',
      endpointName: 'tollgate-local-image-moderation',
      variant: 'inception-v3',
      // InceptionV3 takes hundreds of ms per image here.
      limits: { timeoutMs: 5 },
    });
    expect(created.ok).toBe(true);
    const before = (await stores.usage.listEvents(tenantId)).length;
    const res = await post('/v1/images/moderations', {
      model: 'image-moderation@inception-v3-hasty',
      image: b64(text),
    });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_timeout');
    expect((await stores.usage.listEvents(tenantId)).length).toBe(before);
    const after = await post('/v1/images/moderations', {
      model: 'image-moderation@inception-v3',
      image: b64(text),
    });
    expect(after.status).toBe(200);
  });

  it('a burst beyond the queue is turned away at once with 503 model_busy, only answers are billed', async () => {
    const before = (await stores.usage.listEvents(tenantId)).length;
    const image = b64(landscape);
    const responses = await Promise.all(
      Array.from({ length: 40 }, () =>
        post('/v1/images/moderations', { model: 'image-moderation@mobilenet-v2', image }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    const ok = statuses.filter((s) => s === 200).length;
    const busy = responses.filter((r) => r.status === 503);
    expect(ok + busy.length).toBe(40);
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('model_busy');
    }
    expect((await stores.usage.listEvents(tenantId)).length).toBe(before + ok);
  });

  it('GET /v1/usage counts images per version', async () => {
    // The report reads the aggregates: the stream consumer's, applied here up to now.
    await stack.drainUsage();
    const res = await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
    const usage = (await res.json()) as { data: { model: string; version: string; images: number }[] };
    const versions = new Set(usage.data.filter((r) => r.images > 0).map((r) => `${r.model}@${r.version}`));
    for (const [v] of MODERATION) expect(versions).toContain(`image-moderation@${v}`);
    for (const [v] of OCR) expect(versions).toContain(`ocr@${v}`);
  });
});
