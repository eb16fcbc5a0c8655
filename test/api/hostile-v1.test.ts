import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import {
  expectHostileAnswer,
  headerValue,
  hostileBody,
  nastyJson,
  nastyNumber,
  nastyString,
} from '../support/hostile';
import { b64, pngDeclaring, solidImage } from '../support/images';

/**
 * The inference routes under attack: every hostile body or header is a 4xx in the envelope,
 * and afterwards the tenant has no usage event, no open reservation and no counter moved,
 * whether the body is garbage or a good request with one field made bad.
 */

const RUNS = Number(process.env.HOSTILE_RUNS ?? 150);

const notAnInt = (lo: number, hi: number) => (n: number) => !Number.isInteger(n) || n < lo || n > hi;

describe('hostile input on /v1: 4xx, and nothing metered, reserved or counted', () => {
  let h: Harness;
  let t: TestTenant;
  let png: string;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    png = b64(await solidImage('png'));
  });

  afterAll(async () => {
    // The state check, once more over everything the file sent.
    await expectNothingChanged();
  });

  async function expectNothingChanged() {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect(await h.stores.quotas.openReservations(t.tenantId)).toEqual([]);
    const peek = await h.stores.quotas.peek(t.tenantId, t.keyId, h.deps.now());
    expect(peek.tenant?.requests ?? 0).toBe(0);
    expect(peek.key?.requests ?? 0).toBe(0);
    expect(peek.tenant?.tokens ?? 0).toBe(0);
    const month = await h.stores.quotas.month(t.tenantId, h.deps.now());
    expect(month.costNanoUsd).toBe(0);
    expect(Object.values(month.units).every((v) => v === 0)).toBe(true);
  }

  const chatBase = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };
  /** A good chat request (streamed or not) with exactly one field made bad. */
  const badChat = fc.oneof(
    fc.record({ max_tokens: nastyNumber.filter(notAnInt(1, 512)) }),
    fc.record({ max_completion_tokens: nastyNumber.filter(notAnInt(1, 512)) }),
    fc.record({ temperature: nastyNumber.filter((n) => n < 0 || n > 2) }),
    fc.record({ top_p: nastyNumber.filter((n) => n <= 0 || n > 1) }),
    fc.record({ n: nastyNumber.filter((n) => n !== 1) }),
    fc.record({ messages: nastyJson.filter((v) => !Array.isArray(v) || v.length === 0) }),
    fc.record({
      messages: fc.array(
        fc.record({
          role: nastyString.filter((r) => !['system', 'developer', 'user', 'assistant'].includes(r)),
          content: nastyString,
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    fc.record({
      messages: fc
        .integer({ min: 257, max: 2000 })
        .map((n) => Array.from({ length: n }, () => ({ role: 'user', content: 'a' }))),
    }),
    fc.record({ model: nastyString }),
    fc.record({ stop: fc.array(fc.string({ minLength: 1 }), { minLength: 5, maxLength: 50 }) }),
    fc.record({ user: fc.integer({ min: 257, max: 20_000 }).map((n) => 'u'.repeat(n)) }),
    fc.record({ stream_options: fc.oneof(nastyString, nastyNumber) }),
  );

  it('chat: a good request with one bad field, streamed or not', async () => {
    await fc.assert(
      fc.asyncProperty(badChat, fc.boolean(), async (bad, stream) => {
        const json = { ...chatBase, stream, ...bad };
        const res = await h.call('/v1/chat/completions', { key: t.key, json });
        await expectHostileAnswer(res, JSON.stringify(json).slice(0, 200), { strict: true });
      }),
      { numRuns: RUNS },
    );
    await expectNothingChanged();
  });

  it('sentiment: a good request with one bad field', async () => {
    const bad = fc.oneof(
      fc.record({
        input: fc.oneof(nastyNumber, fc.boolean(), fc.constant(null), fc.dictionary(fc.string(), nastyJson)),
      }),
      fc.record({ input: fc.integer({ min: 32_001, max: 200_000 }).map((n) => 'x'.repeat(n)) }),
      fc.record({
        input: fc.integer({ min: 65, max: 5_000 }).map((n) => Array.from({ length: n }, () => 'a')),
      }),
      fc.record({
        input: fc.array(fc.oneof(nastyNumber, fc.constant(''), fc.constant(null)), {
          minLength: 1,
          maxLength: 5,
        }),
      }),
      fc.record({ model: nastyString }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async (b) => {
        const json = { model: 'sentiment', input: 'fine', ...b };
        const res = await h.call('/v1/text/sentiment', { key: t.key, json });
        await expectHostileAnswer(res, JSON.stringify(json).slice(0, 200), { strict: true });
      }),
      { numRuns: RUNS },
    );
    await expectNothingChanged();
  });

  it.each([
    ['/v1/images/moderations', 'image-moderation@mobilenet-v2'],
    ['/v1/images/ocr', 'ocr'],
  ])('%s: hostile images are refused before the model', async (path, model) => {
    const image = fc.oneof(
      nastyString.filter((s) => s.length > 0),
      // Headers declaring sizes far past the pixel limit (decompression bombs).
      fc
        .tuple(fc.integer({ min: 4097, max: 2 ** 31 - 1 }), fc.integer({ min: 4097, max: 2 ** 31 - 1 }))
        .map(([w, hgt]) => b64(pngDeclaring(w, hgt))),
      // Good images cut short anywhere inside the header, or with bytes flipped in the magic.
      fc.nat({ max: 40 }).map((n) => b64(Buffer.from(png, 'base64').subarray(0, n))),
      fc.tuple(fc.nat({ max: 7 }), fc.integer({ min: 0, max: 255 })).map(([i, byte]) => {
        const bytes = Buffer.from(png, 'base64');
        bytes[i] = bytes[i] === byte ? (byte + 1) % 256 : byte;
        return b64(bytes);
      }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((u) => b64(Buffer.from(u))),
      fc.constantFrom('data:', 'data:image/png;base64', 'data:image/png;base64,=', '===='),
    );
    await fc.assert(
      fc.asyncProperty(image, async (img) => {
        const res = await h.call(path, { key: t.key, json: { model, image: img } });
        await expectHostileAnswer(res, `${path} image ${img.slice(0, 80)}`, { strict: true });
      }),
      { numRuns: RUNS },
    );
    await expectNothingChanged();
  });

  it.each(['/v1/chat/completions', '/v1/text/sentiment', '/v1/images/moderations', '/v1/images/ocr'])(
    '%s: any garbage body is a 4xx',
    async (path) => {
      await fc.assert(
        fc.asyncProperty(
          hostileBody(['model', 'messages', 'input', 'image', 'max_tokens', 'stream']),
          async (body) => {
            const res = await h.call(path, {
              key: t.key,
              body,
              headers: { 'content-type': 'application/json' },
            });
            await expectHostileAnswer(res, `${path} ${body.slice(0, 120)}`, { strict: true });
          },
        ),
        { numRuns: RUNS },
      );
      await expectNothingChanged();
    },
  );

  it('a good body with a hostile Authorization header: 401 (429 once the IP guessed too often), and nothing changed', async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, async (authorization) => {
        const res = await h.call('/v1/text/sentiment', {
          json: { model: 'sentiment', input: 'fine' },
          headers: { authorization },
        });
        const env = await expectHostileAnswer(res, authorization.slice(0, 80), { strict: true });
        expect([401, 429]).toContain(res.status);
        expect(env?.error.type).toBe(res.status === 401 ? 'authentication_error' : 'rate_limit_error');
      }),
      { numRuns: RUNS },
    );
    await expectNothingChanged();
  });

  it('a good key and body with a hostile Content-Type: 415, and nothing changed', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerValue.filter((v) => !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(v)),
        async (type) => {
          const res = await h.call('/v1/chat/completions', {
            key: t.key,
            body: JSON.stringify(chatBase),
            headers: { 'content-type': type },
          });
          await expectHostileAnswer(res, type.slice(0, 80), { strict: true });
          expect(res.status).toBe(415);
        },
      ),
      { numRuns: RUNS },
    );
    await expectNothingChanged();
  });
});
