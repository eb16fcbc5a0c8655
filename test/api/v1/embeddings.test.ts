import { beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '#shared/metering/text-tokens';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { sdk } from '../../support/openai-sdk';

interface EmbeddingBody {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number; cost_usd: string };
}

/** $0.02 per 1M input tokens = 20 nano-USD per token. */
const NANO_PER_TOKEN = 20;
const usd = (nano: number) => `0.${String(nano).padStart(9, '0')}`;
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

/** The official SDK over the app in process. */
describe('POST /v1/embeddings against the real word-vector model', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  async function embed(json: Record<string, unknown>, key = t.key) {
    return h.call('/v1/embeddings', { key, json: { model: 'embeddings', ...json } });
  }

  it("answers OpenAI's shape with unit vectors that mean something, names the version, and bills tokens x price", async () => {
    const input = ['cat', 'dog', 'car'];
    const res = await embed({ input });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-version')).toBe('embeddings@wink-100d');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
    const body = (await res.json()) as EmbeddingBody;
    expect(body.object).toBe('list');
    expect(body.model).toBe('embeddings@wink-100d');
    expect(body.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
      ['embedding', 2],
    ]);
    const [cat, dog, car] = body.data.map((d) => d.embedding as number[]);
    for (const v of [cat!, dog!, car!]) {
      expect(v).toHaveLength(100);
      expect(dot(v, v)).toBeCloseTo(1, 5);
    }
    // Real word vectors: a cat is nearer a dog than a car.
    expect(dot(cat!, dog!)).toBeGreaterThan(dot(cat!, car!) + 0.2);
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3, cost_usd: usd(3 * NANO_PER_TOKEN) });

    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: res.headers.get('x-request-id'),
      tenantId: t.tenantId,
      keyId: t.keyId,
      model: 'embeddings',
      version: 'wink-100d',
      units: { input_tokens: 3 },
      costNanoUsd: 3 * NANO_PER_TOKEN,
      status: 'succeeded',
    });
  });

  it('sentences: a paraphrase is nearer than an unrelated text; the bill is the token rule x price', async () => {
    const input = [
      'How do I reset my password?',
      'I forgot my login credentials and cannot sign in.',
      'The weather in Paris is sunny today.',
    ];
    const other = await h.newTenant();
    const res = await embed({ input }, other.key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as EmbeddingBody;
    const [q, paraphrase, unrelated] = body.data.map((d) => d.embedding as number[]);
    expect(dot(q!, paraphrase!)).toBeGreaterThan(dot(q!, unrelated!));
    const tokens = input.reduce((sum, text) => sum + countTextTokens(text), 0);
    expect(body.usage.prompt_tokens).toBe(tokens);
    const [event] = await h.stores.usage.listEvents(other.tenantId);
    expect(event).toMatchObject({ units: { input_tokens: tokens }, costNanoUsd: tokens * NANO_PER_TOKEN });
    expect(body.usage.cost_usd).toBe(usd(tokens * NANO_PER_TOKEN));
  });

  it('dimensions: the first components, scaled back to unit length', async () => {
    const full = ((await (await embed({ input: 'a quiet morning by the lake' })).json()) as EmbeddingBody)
      .data[0]!.embedding as number[];
    const res = await embed({ input: 'a quiet morning by the lake', dimensions: 8 });
    expect(res.status).toBe(200);
    const short = ((await res.json()) as EmbeddingBody).data[0]!.embedding as number[];
    expect(short).toHaveLength(8);
    expect(dot(short, short)).toBeCloseTo(1, 5);
    const norm = Math.sqrt(dot(full.slice(0, 8), full.slice(0, 8)));
    short.forEach((x, i) => {
      expect(x).toBeCloseTo(full[i]! / norm, 5);
    });
    // Its own length is always allowed.
    expect((await embed({ input: 'lake', dimensions: 100 })).status).toBe(200);
  });

  it('the official SDK: embeddings.create in float and in base64 (little-endian float32)', async () => {
    const client = sdk(h, t.key);
    const input = ['The cat sat on the mat.', 'A kitten slept on the rug.'];
    const float = await client.embeddings.create({ model: 'embeddings', input, encoding_format: 'float' });
    expect(float.object).toBe('list');
    expect(float.model).toBe('embeddings@wink-100d');
    expect(float.data).toHaveLength(2);
    expect(float.data[0]!.embedding).toHaveLength(100);
    expect(float.usage.prompt_tokens).toBe(14);

    // Decoded by the SDK itself: the same vectors to float32 precision.
    const b64 = await client.embeddings.create({ model: 'embeddings', input, encoding_format: 'base64' });
    expect(b64.data).toHaveLength(2);
    const raw = b64.data[0]!.embedding as unknown;
    const decoded =
      typeof raw === 'string'
        ? Array.from(new Float32Array(new Uint8Array(Buffer.from(raw, 'base64')).buffer))
        : (raw as number[]);
    expect(decoded).toHaveLength(100);
    decoded.forEach((x, i) => {
      expect(x).toBeCloseTo(float.data[0]!.embedding[i]!, 6);
    });

    // The SDK's default (no encoding_format) asks for base64 and decodes it.
    const plain = await client.embeddings.create({ model: 'embeddings', input: 'The cat sat on the mat.' });
    expect(plain.data[0]!.embedding).toHaveLength(100);
    plain.data[0]!.embedding.forEach((x, i) => {
      expect(x).toBeCloseTo(float.data[0]!.embedding[i]!, 6);
    });
  });

  it('base64 over HTTP is float32 little-endian of the float answer', async () => {
    const float = (await (await embed({ input: 'river bank' })).json()) as EmbeddingBody;
    const res = await embed({ input: 'river bank', encoding_format: 'base64' });
    const body = (await res.json()) as EmbeddingBody;
    const bytes = Buffer.from(body.data[0]!.embedding as string, 'base64');
    expect(bytes).toHaveLength(400);
    const vector = float.data[0]!.embedding as number[];
    for (let i = 0; i < 100; i++) expect(bytes.readFloatLE(i * 4)).toBe(Math.fround(vector[i]!));
  });

  it('GET /v1/models/embeddings: the task, and each version with its dimensions and batch limits', async () => {
    const res = await h.call('/v1/models/embeddings', { key: t.key });
    expect(res.status).toBe(200);
    const model = (await res.json()) as {
      task: string;
      serving_version: string;
      versions: { id: string; limits: Record<string, number | null> }[];
    };
    expect(model.task).toBe('embeddings');
    expect(model.serving_version).toBe('embeddings@wink-100d');
    const limits = Object.fromEntries(model.versions.map((v) => [v.id, v.limits]));
    expect(limits['embeddings@wink-100d']).toMatchObject({
      dimensions: 100,
      min_dimensions: 1,
      max_inputs: 2048,
      max_input_tokens: 8192,
    });
    expect(limits['embeddings@minilm-l6']).toMatchObject({ dimensions: 384, min_dimensions: null });
  });

  it('user is accepted and ignored', async () => {
    expect((await embed({ input: 'hello', user: 'user-42' })).status).toBe(200);
  });
});

describe('POST /v1/embeddings refuses bad input: a 400 naming the field, nothing billed', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant({ plan: 'enterprise' });
    // A version that answers only its own length: the same model, without `minDimensions`.
    const seeded = (await h.stores.catalog.load()).models.get('embeddings')!.versions.get('wink-100d')!;
    await h.stores.catalog.putVersionIfAbsent({
      ...seeded,
      version: 'fixed-100d',
      status: 'preview',
      limits: { maxInputTokens: 4, maxInputs: 3, dimensions: 100, timeoutMs: 10_000 },
    });
  });

  it.each([
    ['no input', { model: 'embeddings' }, 'input'],
    ['an empty string', { model: 'embeddings', input: '' }, 'input'],
    ['whitespace only', { model: 'embeddings', input: '  \n ' }, 'input'],
    ['an empty array', { model: 'embeddings', input: [] }, 'input'],
    ['an empty item', { model: 'embeddings', input: ['fine', ' '] }, 'input[1]'],
    ['token ids', { model: 'embeddings', input: [1212, 318, 257] }, 'input'],
    ['arrays of token ids', { model: 'embeddings', input: [[1212, 318], [257]] }, 'input'],
    ['a number', { model: 'embeddings', input: 42 }, 'input'],
    ['an unknown encoding', { model: 'embeddings', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ['dimensions 0', { model: 'embeddings', input: 'x', dimensions: 0 }, 'dimensions'],
    ['dimensions over the length', { model: 'embeddings', input: 'x', dimensions: 101 }, 'dimensions'],
    ['dimensions not whole', { model: 'embeddings', input: 'x', dimensions: 2.5 }, 'dimensions'],
    [
      'dimensions on a version without them',
      { model: 'embeddings@fixed-100d', input: 'x', dimensions: 50 },
      'dimensions',
    ],
    ['too many inputs', { model: 'embeddings@fixed-100d', input: ['a', 'b', 'c', 'd'] }, 'input'],
    [
      'an input over the tokens per input',
      { model: 'embeddings@fixed-100d', input: ['ok', 'one two three four five'] },
      'input[1]',
    ],
    [
      'a single input over them',
      { model: 'embeddings@fixed-100d', input: 'one two three four five' },
      'input',
    ],
    ['an unknown model', { model: 'embeddingz', input: 'x' }, 'model'],
    ['a model of another task', { model: 'sentiment', input: 'x' }, 'model'],
  ])('%s', async (_name, json, param) => {
    const res = await h.call('/v1/embeddings', { key: t.key, json });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { param: string; message: string; type: string; code: string };
    };
    expect(body.error.param).toBe(param);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it('the same version serves its own length, and the limits hold exactly at the bound', async () => {
    const res = await h.call('/v1/embeddings', {
      key: t.key,
      json: { model: 'embeddings@fixed-100d', input: ['one two three four', 'a', 'b'], dimensions: 100 },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as EmbeddingBody).usage.prompt_tokens).toBe(6);
  });

  it('no key: 401, nothing billed', async () => {
    const res = await h.call('/v1/embeddings', { json: { model: 'embeddings', input: 'x' } });
    expect(res.status).toBe(401);
  });
});

describe('embeddings@minilm-l6 before its weights are pulled', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  it('answers one clear 503 model_not_installed, not to be retried, and bills nothing', async () => {
    const res = await h.call('/v1/embeddings', {
      key: t.key,
      json: { model: 'embeddings@minilm-l6', input: 'x' },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('false');
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'model_not_installed', param: 'model' });
    expect(body.error.message).toMatch(/not installed.*retrying will not help/);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it('dimensions other than its 384 are refused before anything else: it is not trained for them', async () => {
    const res = await h.call('/v1/embeddings', {
      key: t.key,
      json: { model: 'embeddings@minilm-l6', input: 'x', dimensions: 128 },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('dimensions');
  });
});
