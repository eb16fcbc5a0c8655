import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { CatalogAdmin, type ChangeBy } from '../../shared/catalog/catalog-admin';
import { loadConfig } from '../../shared/config';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { b64, textPng } from '../support/images';

// One OCR version is all this file needs: the runtime loads only it.
process.env.RUNTIME_MODELS = 'ocr@ppocr-v4';

const VARIANT = 'tollgate-local-ocr/ppocr-v4';
const SYSTEM: ChangeBy = { actor: { kind: 'system', id: 'test' }, requestId: null };

type VariantState = { inFlight: number; queued: number; busy: number; cancelled: number; recycled: number };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * One tenant's heavy images must not pin an OCR version that another tenant is calling: a blank
 * 4096x4096 PNG (73 KB, inside the byte and pixel limits) used to hold PP-OCR's worker for 25 s,
 * and kept holding it after the gateway's 504. The whole local stack, the real model.
 */
describe('heavy images and another tenant on one OCR version', () => {
  let stack: LocalStack;
  let stores: Stores;
  const keys = { heavy: '', light: '' };
  let heavyTenant = '';
  let heavyImage = '';
  let lightImage = '';

  const ocr = (who: 'heavy' | 'light', model: string, image: string, signal?: AbortSignal) =>
    fetch(`${stack.url}/v1/images/ocr`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, image }),
      ...(signal ? { signal } : {}),
    });
  const state = async (): Promise<VariantState> =>
    ((await (await fetch(`${stack.runtimeUrl}/state`)).json()) as { variants: Record<string, VariantState> })
      .variants[VARIANT]!;
  /** Polls the runtime's state until `done` holds (or gives up after 15 s and returns the last). */
  const stateWhen = async (done: (s: VariantState) => boolean): Promise<VariantState> => {
    const deadline = Date.now() + 15_000;
    let last = await state();
    while (!done(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      last = await state();
    }
    return last;
  };
  /** One light call, timed from the client: its status and milliseconds. */
  const lightCall = async () => {
    const started = performance.now();
    const res = await ocr('light', 'ocr@ppocr-v4', lightImage);
    const body = (await res.json()) as { text?: string };
    return { status: res.status, ms: performance.now() - started, text: body.text };
  };

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      TOLLGATE_IN_MEMORY: 'true',
      LOG_LEVEL: 'silent',
      CATALOG_CACHE_TTL_MS: '0',
    });
    stack = await startLocalStack(config, createLogger('silent'));
    stores = createStores(stack.config);
    for (const who of ['heavy', 'light'] as const) {
      const id = newId('ten');
      // Enterprise: the calls below must meet the runtime's queue, not the plan's limits.
      await stores.tenants.create({
        id,
        name: who,
        status: 'active',
        plan: 'enterprise',
        createdAt: new Date().toISOString(),
      });
      keys[who] = (await issueApiKey(stores.apiKeys, { tenantId: id, name: who })).secret;
      if (who === 'heavy') heavyTenant = id;
    }
    // The same PP-OCR variant with a time limit no heavy image can meet.
    const hasty = await new CatalogAdmin(stores.catalog, stores.audit).createVersion(SYSTEM, {
      model: 'ocr',
      version: 'ppocr-v4-hasty',
      status: 'preview',
      releasedAt: new Date().toISOString(),
      sunsetAt: null,
      prices: { images: 1 },
      priceBook: 'pb-test',
      endpointName: 'tollgate-local-ocr',
      variant: 'ppocr-v4',
      limits: { timeoutMs: 50 },
    });
    expect(hasty.ok).toBe(true);
    const blank = await sharp({
      create: { width: 4096, height: 4096, channels: 3, background: { r: 255, g: 255, b: 255 } },
    })
      .png()
      .toBuffer();
    heavyImage = b64(blank);
    lightImage = b64(await textPng('HELLO WORLD 42'));
    const deadline = Date.now() + 50_000;
    while (!(await fetch(`${stack.runtimeUrl}/ping`)).ok && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
  }, 90_000);

  afterAll(async () => {
    stores?.dynamo.client.destroy();
    await stack?.stop();
  });

  it("three 4096x4096 images are answered, and the other tenant's median stays within 2x of its own alone", async () => {
    await lightCall(); // warm: the first call pays for the model's first run
    const alone: number[] = [];
    for (let i = 0; i < 7; i++) {
      const call = await lightCall();
      expect(call.status).toBe(200);
      alone.push(call.ms);
    }

    const finished: string[] = [];
    const heavy = [1, 2, 3].map((n) =>
      ocr('heavy', 'ocr@ppocr-v4', heavyImage).then(async (res) => {
        finished.push(`heavy-${n}`);
        return { status: res.status, body: (await res.json()) as { lines?: unknown[]; model?: string } };
      }),
    );
    // Once one heavy image runs and two wait, the other tenant calls, again and again.
    await stateWhen((s) => s.inFlight === 1 && s.queued === 2);
    const contended: number[] = [];
    for (let i = 0; i < 9; i++) {
      const call = await lightCall();
      finished.push(`light-${i + 1}`);
      expect(call.status).toBe(200);
      expect(call.text).toBe('HELLO WORLD 42');
      contended.push(call.ms);
    }
    const answers = await Promise.all(heavy);
    for (const { status, body } of answers) {
      // Answered (so within the version's 20 s), not timed out or turned away busy.
      expect(status).toBe(200);
      expect(body).toMatchObject({ model: 'ocr@ppocr-v4', lines: [] });
    }
    // Fair turns: the other tenant's first call did not wait behind all three heavy images.
    expect(finished.indexOf('light-1')).toBeLessThan(finished.indexOf('heavy-3'));
    expect(median(contended)).toBeLessThanOrEqual(2 * median(alone));
  });

  it('an image given up on at the timeout is a 504, not billed, and stops running in the runtime', async () => {
    const before = await state();
    const billed = (await stores.usage.listEvents(heavyTenant)).length;
    const res = await ocr('heavy', 'ocr@ppocr-v4-hasty', heavyImage);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_timeout');
    // The runtime saw the hang-up: the call is cancelled, and nothing holds the model or waits.
    const after = await stateWhen((s) => s.cancelled > before.cancelled && s.busy === 0 && s.inFlight === 0);
    expect(after).toMatchObject({ inFlight: 0, queued: 0, busy: 0, cancelled: before.cancelled + 1 });
    expect((await stores.usage.listEvents(heavyTenant)).length).toBe(billed);
    expect((await lightCall()).status).toBe(200);
  });

  it('a client that goes away mid-call cancels the work in the runtime', async () => {
    const before = await state();
    const gone = new AbortController();
    const call = ocr('heavy', 'ocr@ppocr-v4', heavyImage, gone.signal).catch((e: unknown) => e);
    await stateWhen((s) => s.inFlight === 1);
    gone.abort();
    expect(await call).toBeInstanceOf(Error);
    const after = await stateWhen((s) => s.cancelled > before.cancelled && s.busy === 0 && s.inFlight === 0);
    expect(after).toMatchObject({ inFlight: 0, queued: 0, busy: 0, cancelled: before.cancelled + 1 });
    expect((await lightCall()).status).toBe(200);
  });
});
