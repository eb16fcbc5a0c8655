import { beforeAll, describe, expect, it } from 'vitest';
import { formatUsd, usdToNano } from '#shared/metering/pricing';
import { TypicalLatencyReader } from '#shared/observability/typical-latency';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

interface Card {
  id: string;
  prices: { unit: string; usd: string; per: number }[];
  context_window: number | null;
  max_output_tokens: number | null;
  typical_latency_ms: { p50: number | null; p90: number | null; requests: number; days: number } | null;
  sample: {
    method: string;
    path: string;
    request: Record<string, unknown>;
    response: { model?: string; usage: Record<string, unknown> };
  };
}
interface Listed extends Partial<Card> {
  id: string;
  versions?: Card[];
}

/**
 * Model cards: what `/v1/models`, the console and the public pricing page say of each version
 * beside its price: context window, max output, typical latency (from model health) and a sample
 * request that really calls it.
 */
describe('model cards', () => {
  let h: Harness;
  let t: TestTenant;
  const cards = async (): Promise<Map<string, Card>> => {
    const res = await h.call('/v1/models', { key: t.key });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Listed[] };
    return new Map(data.filter((d) => d.id.includes('@')).map((d) => [d.id, d as Card]));
  };

  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  it('each version shows its context window, max output and a sample priced at its own prices', async () => {
    const all = await cards();
    const chat = all.get('chat@tiny-1')!;
    expect(chat).toMatchObject({ context_window: 1_536 + 512, max_output_tokens: 512 });
    const sentiment = all.get('sentiment@v1')!;
    expect(sentiment).toMatchObject({ context_window: 8_192, max_output_tokens: null });
    expect(all.get('ocr@ppocr-v4')).toMatchObject({ context_window: null, max_output_tokens: null });

    // Every sample names its own version and costs what its usage costs at its prices, exactly.
    for (const card of all.values()) {
      expect(card.sample.request.model).toBe(card.id);
      expect(card.sample.response.model).toBe(card.id);
      const usage = card.sample.response.usage as Record<string, number | string>;
      const units: Record<string, number> = {
        input_tokens: Number(usage.prompt_tokens ?? usage.input_tokens ?? 0),
        output_tokens: Number(usage.completion_tokens ?? 0),
        images: Number(usage.images ?? 0),
      };
      // Prices are quoted per `per` units; nano-USD per unit times units is exact.
      const nano = card.prices.reduce(
        (sum, p) => sum + (usdToNano(p.usd)! / p.per) * (units[p.unit] ?? 0),
        0,
      );
      expect(usage.cost_usd).toBe(formatUsd(nano));
    }
  });

  it("a version's sample request is a real call: sent as is, it is answered by that version and costs what the sample says", async () => {
    const { sample } = (await cards()).get('sentiment@v1')!;
    const res = await h.call(sample.path, { key: t.key, json: sample.request });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; usage: Record<string, unknown> };
    expect(body.model).toBe('sentiment@v1');
    expect(body.usage).toEqual(sample.response.usage);
  });

  it('typical latency comes from model health: none before any answer, then the answered calls of the week', async () => {
    const fresh = await createHarness();
    const tenant = await fresh.newTenant();
    const list = async () => {
      const res = await fresh.call('/v1/models/sentiment@v1', { key: tenant.key });
      return (await res.json()) as Card;
    };
    expect((await list()).typical_latency_ms).toBeNull();
    for (let i = 0; i < 4; i++) {
      const res = await fresh.call('/v1/text/sentiment', {
        key: tenant.key,
        json: { model: 'sentiment', input: 'fine' },
      });
      expect(res.status).toBe(200);
    }
    // A refused call is not an answer: it does not count.
    expect(
      (await fresh.call('/v1/text/sentiment', { key: tenant.key, json: { model: 'sentiment' } })).status,
    ).toBe(400);
    await fresh.deps.modelHealth.flush();
    // A reader that has not read yet (the instance's reader caches its read for a minute).
    const reader = new TypicalLatencyReader(fresh.deps.modelHealthStore);
    const latency = (await reader.byVersion()).get('sentiment@v1');
    expect(latency).toMatchObject({ requests: 4, days: 7 });
    expect(latency!.p50).toBeGreaterThan(0);
    expect(latency!.p90).toBeGreaterThanOrEqual(latency!.p50!);
  });
});

describe('GET /public/pricing: plans and cards for anyone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });

  it('answers without a key or a session, cacheable, with every plan and every callable version', async () => {
    const res = await h.call('/public/pricing');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const body = (await res.json()) as {
      object: string;
      plans: { id: string; overage: string }[];
      models: { id: string; versions: Card[]; pinned_version?: unknown }[];
    };
    expect(body.object).toBe('pricing');
    expect(body.plans.map((p) => p.id)).toEqual(['free', 'payg', 'enterprise']);
    const chat = body.models.find((m) => m.id === 'chat')!;
    expect(chat).not.toHaveProperty('pinned_version');
    expect(chat.versions.map((v) => v.id)).toContain('chat@smollm2-360m');
    const tiny = chat.versions.find((v) => v.id === 'chat@tiny-1')!;
    expect(tiny.prices).toEqual([
      { unit: 'input_tokens', usd: '0.050000000', per: 1_000_000 },
      { unit: 'output_tokens', usd: '0.150000000', per: 1_000_000 },
    ]);
    expect(tiny.sample.path).toBe('/v1/chat/completions');
  });

  it('is read-only: other methods are refused and change nothing', async () => {
    const res = await h.call('/public/pricing', { method: 'POST', json: {} });
    expect([404, 405]).toContain(res.status);
    const body = (await res.json()) as { error: { type: string } };
    expect(body.error.type).toBeTruthy();
  });
});
