import OpenAI, { InternalServerError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

/**
 * A version listed in the catalog whose weights are not installed: the runtime hosts
 * `chat@smollm2-135m` but its weights are never downloaded on the test machines.
 */
const MISSING = 'chat@smollm2-135m';

interface VersionEntry {
  id: string;
  available: boolean;
  unavailable_reason: string | null;
  install_command: string | null;
}

/** The official SDK, with its default retries, over the app in process; `requests` counts what it sent. */
function sdk(h: Harness, apiKey: string) {
  const sent = { requests: 0 };
  const client = new OpenAI({
    baseURL: 'http://tollgate.test/v1',
    apiKey,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      sent.requests++;
      return h.app.request(String(url), init);
    },
  });
  return { client, sent };
}

describe('a version whose weights are not installed', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant({ plan: 'enterprise' });
  });

  it('the runtime says so: one clear 503 model_not_installed, x-should-retry false, no Retry-After, nothing billed', async () => {
    const res = await h.call('/v1/chat/completions', {
      key: t.key,
      json: { model: MISSING, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('x-model-version')).toBe(MISSING);
    const body = (await res.json()) as { error: { code: string; message: string; param: string } };
    expect(body.error.code).toBe('model_not_installed');
    expect(body.error.param).toBe('model');
    expect(body.error.message).toMatch(/not installed.*retrying will not help/);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it('the official SDK, with its default retries, makes exactly one request and throws', async () => {
    const { client, sent } = sdk(h, t.key);
    const call = client.chat.completions.create({
      model: MISSING,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
    });
    await expect(call).rejects.toBeInstanceOf(InternalServerError);
    await call.catch((err: InternalServerError) => expect(err.code).toBe('model_not_installed'));
    expect(sent.requests).toBe(1);
    // Streamed, the same: one request, refused before a stream opens.
    const before = sent.requests;
    await expect(
      client.chat.completions.create({
        model: MISSING,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 4,
        stream: true,
      }),
    ).rejects.toBeInstanceOf(InternalServerError);
    expect(sent.requests - before).toBe(1);
  });

  it('once the catalog knows, /v1/models shows it unavailable with why and how to install it, and calls are refused before the model', async () => {
    const [name, version] = MISSING.split('@') as [string, string];
    const reason = 'its weights are not downloaded';
    const install = 'npm run models:pull -- HuggingFaceTB/SmolLM2-135M-Instruct';
    expect(
      await h.stores.catalog.setAvailability(name, version, { state: 'not_installed', reason, install }),
    ).toBe(true);
    h.deps.resolver.invalidate();

    const list = (await (await h.call('/v1/models', { key: t.key })).json()) as { data: VersionEntry[] };
    const entry = list.data.find((m) => m.id === MISSING);
    expect(entry).toMatchObject({ available: false, unavailable_reason: reason, install_command: install });
    expect(list.data.find((m) => m.id === 'chat@tiny-1')).toMatchObject({
      available: true,
      unavailable_reason: null,
      install_command: null,
    });
    const one = (await (await h.call(`/v1/models/${MISSING}`, { key: t.key })).json()) as VersionEntry;
    expect(one.available).toBe(false);

    const { client, sent } = sdk(h, t.key);
    const err = await client.chat.completions
      .create({ model: MISSING, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).message).toContain(install);
    expect((err as InternalServerError).headers?.get('retry-after')).toBeNull();
    expect(sent.requests).toBe(1);

    // Installed again: listed as available, and the unknown version is still a plain 400.
    expect(await h.stores.catalog.setAvailability(name, version, null)).toBe(true);
    expect(await h.stores.catalog.setAvailability(name, 'no-such-version', null)).toBe(false);
    h.deps.resolver.invalidate();
    const after = (await (await h.call('/v1/models', { key: t.key })).json()) as { data: VersionEntry[] };
    expect(after.data.find((m) => m.id === MISSING)?.available).toBe(true);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });
});
