import { beforeAll, describe, expect, inject, it } from 'vitest';
import { hashApiKey } from '#shared/auth/api-keys';
import { issueApiKey } from '#shared/auth/issue-api-key';
import type { KeyScope } from '#shared/auth/key-scope';
import { EDGE_SECRET_HEADER, localClientAddress, VIEWER_IP_HEADER } from '#shared/http/client-ip';
import { formatUsd } from '#shared/metering/pricing';
import type { ModelClient } from '#shared/models/model-client';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { addMember, createKey, expectError, json, newOwner, type TestUser } from '../support/accounts';
import { createHarness, type Harness } from '../support/harness';
import { parseSse, sseChunks } from '../support/sse';

/** The header the (stand-in) trusted proxy in front of the local server sets: CLIENT_IP_HEADER. */
const EDGE = 'x-edge-client-ip';
const EDGE_SECRET = `${'s'.repeat(20)}-edge-secret-of-this-test-0123`;

/** A key with `scope` in a fresh tenant (pay-as-you-go, so nothing but the scope refuses). */
async function scopedKey(h: Harness, scope: KeyScope | undefined, opts: { expiresAt?: string } = {}) {
  const t = await h.newTenant({ plan: 'payg' });
  const { key, secret } = await issueApiKey(h.stores.apiKeys, {
    tenantId: t.tenantId,
    name: 'scoped',
    scope: scope ?? null,
    expiresAt: opts.expiresAt ?? null,
  });
  return { tenantId: t.tenantId, keyId: key.id, key: secret };
}

const sentiment = (h: Harness, key: string, headers: Record<string, string> = {}) =>
  h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'lovely' }, headers });
const chat = (h: Harness, key: string, model: string) =>
  h.call('/v1/chat/completions', {
    key,
    json: { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 },
  });

/** Nothing billed and nothing held: no usage record, no open reservation, nothing spent this month. */
async function expectNothingBilled(h: Harness, tenantId: string) {
  expect(await h.stores.usage.listEvents(tenantId)).toEqual([]);
  expect(await h.stores.quotas.openReservations(tenantId)).toEqual([]);
  expect((await h.stores.quotas.month(tenantId, new Date()))?.costNanoUsd ?? 0).toBe(0);
}

describe('scoped keys on /v1: each refusal is a 403 naming the scope, before admission, billing nothing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      env: { CLIENT_IP_HEADER: EDGE, EDGE_SECRET },
      // As the local server: no socket address in process, so only what the edge vouches for.
      clientIp: (c, config) => localClientAddress(null, (n) => c.req.header(n), config),
    });
  });

  it('models: a model outside the scope is refused, a version outside it too, the list shows only the scope', async () => {
    const t = await scopedKey(h, { models: ['sentiment', 'chat@tiny-1'] });
    await expectError(
      await h.call('/v1/embeddings', { key: t.key, json: { model: 'embeddings', input: 'x' } }),
      403,
      'model_not_in_key_scope',
      'model',
    );
    const err = await expectError(
      await chat(h, t.key, 'chat@smollm2-360m'),
      403,
      'model_not_in_key_scope',
      'model',
    );
    expect(err.message).toContain('it may call: sentiment, chat@tiny-1');
    await expectError(await chat(h, t.key, 'chat@smollm2-135m'), 403, 'model_not_in_key_scope');
    await expectNothingBilled(h, t.tenantId);

    const list = await json<{
      data: { id: string; versions?: { id: string }[]; serving_version?: string }[];
    }>(await h.call('/v1/models', { key: t.key }));
    expect(list.data.map((m) => m.id)).toEqual(['chat', 'chat@tiny-1', 'sentiment', 'sentiment@v1']);
    expect(list.data[0]).toMatchObject({ serving_version: 'chat@tiny-1', versions: [{ id: 'chat@tiny-1' }] });
    await expectError(
      await h.call('/v1/models/embeddings', { key: t.key }),
      403,
      'model_not_in_key_scope',
      'id',
    );
    await expectError(
      await h.call('/v1/models/chat@smollm2-360m', { key: t.key }),
      403,
      'model_not_in_key_scope',
      'id',
    );
    expect((await h.call('/v1/models/chat@tiny-1', { key: t.key })).status).toBe(200);

    // In scope: served and billed, once.
    const ok = await sentiment(h, t.key);
    expect(ok.status, await ok.clone().text()).toBe(200);
    await h.drainUsage();
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
  });

  it('versions: a plain model name whose pin would serve another version is served the scope’s version', async () => {
    const t = await scopedKey(h, { models: ['chat@tiny-1'] });
    // The tenant pins chat to another version: the key is still never served it.
    await h.stores.pins.set(t.tenantId, {
      model: 'chat',
      version: 'smollm2-360m',
      updatedAt: new Date().toISOString(),
    });
    const res = await chat(h, t.key, 'chat');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-model-version')).toBe('chat@tiny-1');
    expect((await json<{ model: string }>(res)).model).toBe('chat@tiny-1');
    // Named explicitly, the pinned version is refused.
    await expectError(await chat(h, t.key, 'chat@smollm2-360m'), 403, 'model_not_in_key_scope');
    await h.drainUsage();
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events.map((e) => `${e.model}@${e.version}`)).toEqual(['chat@tiny-1']);

    // An alias is held to the version it resolves to: `latest` is tiny-1, outside this key's scope.
    const other = await scopedKey(h, { models: ['chat@smollm2-360m'] });
    const alias = await expectError(await chat(h, other.key, 'chat@latest'), 403, 'model_not_in_key_scope');
    expect(alias.message).toContain("'chat@latest' (served by chat@tiny-1)");
    await expectNothingBilled(h, other.tenantId);
  });

  it('endpoints: another endpoint is refused, reads stay open', async () => {
    const t = await scopedKey(h, { endpoints: ['text'] });
    await expectError(await chat(h, t.key, 'chat@tiny-1'), 403, 'endpoint_not_in_key_scope');
    await expectError(
      await h.call('/v1/embeddings', { key: t.key, json: { model: 'embeddings', input: 'x' } }),
      403,
      'endpoint_not_in_key_scope',
    );
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{}\n']), 'b.jsonl');
    await expectError(
      await h.call('/v1/files', { key: t.key, body: form }),
      403,
      'endpoint_not_in_key_scope',
    );
    await expectError(await h.call('/v1/batches', { key: t.key }), 403, 'endpoint_not_in_key_scope');
    await expectNothingBilled(h, t.tenantId);
    expect((await h.call('/v1/models', { key: t.key })).status).toBe(200);
    expect((await h.call('/v1/usage', { key: t.key })).status).toBe(200);
    expect((await sentiment(h, t.key)).status).toBe(200);
  });

  it('read-only: usage and models, no inference, no uploads', async () => {
    const t = await scopedKey(h, { readOnly: true });
    await expectError(await sentiment(h, t.key), 403, 'key_read_only');
    await expectError(await chat(h, t.key, 'chat@tiny-1'), 403, 'key_read_only');
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{}\n']), 'b.jsonl');
    await expectError(await h.call('/v1/files', { key: t.key, body: form }), 403, 'key_read_only');
    await expectNothingBilled(h, t.tenantId);
    expect((await h.call('/v1/models', { key: t.key })).status).toBe(200);
    expect((await h.call('/v1/usage', { key: t.key })).status).toBe(200);
    expect((await h.call('/v1/batches', { key: t.key })).status).toBe(200);
  });

  it('IP ranges: checked on the address the edge header vouches for; none, or a forged one, is refused', async () => {
    const t = await scopedKey(h, { ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    expect((await sentiment(h, t.key, { [EDGE]: '203.0.113.9' })).status).toBe(200);
    expect((await sentiment(h, t.key, { [EDGE]: '2001:db8::5' })).status).toBe(200);
    // CloudFront's viewer address, with the stage's edge secret.
    expect(
      (await sentiment(h, t.key, { [VIEWER_IP_HEADER]: '203.0.113.10', [EDGE_SECRET_HEADER]: EDGE_SECRET }))
        .status,
    ).toBe(200);
    await h.drainUsage();
    const served = (await h.stores.usage.listEvents(t.tenantId)).length;
    expect(served).toBe(3);

    const outside = await expectError(
      await sentiment(h, t.key, { [EDGE]: '198.51.100.7' }),
      403,
      'ip_not_in_key_allowlist',
    );
    expect(outside.message).toContain('198.51.100.7');
    // No vouched address at all: refused.
    await expectError(await sentiment(h, t.key), 403, 'ip_not_in_key_allowlist');
    // Headers nobody vouches for are not believed.
    await expectError(
      await sentiment(h, t.key, { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' }),
      403,
      'ip_not_in_key_allowlist',
    );
    await expectError(
      await sentiment(h, t.key, { [VIEWER_IP_HEADER]: '203.0.113.10', [EDGE_SECRET_HEADER]: 'a guess' }),
      403,
      'ip_not_in_key_allowlist',
    );
    // Reads too: the key is not usable from elsewhere at all.
    await expectError(
      await h.call('/v1/models', { key: t.key, headers: { [EDGE]: '198.51.100.7' } }),
      403,
      'ip_not_in_key_allowlist',
    );
    await h.drainUsage();
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(served);
  });

  it('batches: the key needs the batch endpoint and the lines’ own, and each line’s model in its scope', async () => {
    const line = (model: string) =>
      JSON.stringify({
        custom_id: 'a',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
      });
    const upload = async (key: string, text: string) => {
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob([`${text}\n`]), 'b.jsonl');
      const res = await h.call('/v1/files', { key, body: form });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await json<{ id: string }>(res)).id;
    };
    const create = (key: string, fileId: string) =>
      h.call('/v1/batches', {
        key,
        json: { input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' },
      });

    const batchOnly = await scopedKey(h, { endpoints: ['batch'] });
    await expectError(
      await create(batchOnly.key, await upload(batchOnly.key, line('chat@tiny-1'))),
      403,
      'endpoint_not_in_key_scope',
      'endpoint',
    );
    const tinyOnly = await scopedKey(h, { models: ['chat@tiny-1'] });
    const refused = await expectError(
      await create(tinyOnly.key, await upload(tinyOnly.key, line('chat@smollm2-360m'))),
      403,
      'model_not_in_key_scope',
      'input_file_id',
    );
    expect(refused.message).toMatch(/^Line 1: /);

    // A batch made while the key could, whose key is narrowed before its lines run: each line is
    // refused with the scope's code, and nothing is billed.
    const t = await scopedKey(h, undefined);
    const res = await create(t.key, await upload(t.key, line('chat@tiny-1')));
    expect(res.status, await res.clone().text()).toBe(200);
    const batch = await json<{ id: string }>(res);
    await h.stores.apiKeys.updateScope(t.tenantId, t.keyId, { scope: { endpoints: ['batch'] } });
    await h.runBatches();
    const done = await json<{ status: string; request_counts: { failed: number }; error_file_id: string }>(
      await h.call(`/v1/batches/${batch.id}`, { key: t.key }),
    );
    expect(done).toMatchObject({ status: 'completed', request_counts: { failed: 1 } });
    const errors = await (await h.call(`/v1/files/${done.error_file_id}/content`, { key: t.key })).text();
    expect(errors).toContain('endpoint_not_in_key_scope');
    await h.drainUsage();
    await expectNothingBilled(h, t.tenantId);
  });
});

/**
 * The real runtime's chat model, whose stream waits at its first line until `release()`: the
 * request is admitted and streaming while the test moves past the key's expiry.
 */
function gatedModels() {
  const real = new SageMakerModelClient({ region: 'us-east-1', endpoint: inject('runtimeUrl') });
  let release: () => void = () => {};
  let opened: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const started = new Promise<void>((r) => {
    opened = r;
  });
  async function* held(stream: AsyncIterable<Uint8Array>) {
    await gate;
    yield* stream;
  }
  const models: ModelClient = {
    invoke: (call) => real.invoke(call),
    async invokeStream(call) {
      const out = await real.invokeStream(call);
      opened();
      return out.ok ? { ...out, stream: held(out.stream) } : out;
    },
  };
  return { models, release: () => release(), started };
}

describe('a key that expires while its request runs', () => {
  it('the admitted stream completes and is billed once; the next call is 401', async () => {
    const gated = gatedModels();
    const h = await createHarness({ models: gated.models });
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const t = await scopedKey(h, undefined, { expiresAt });
    const pending = h.call('/v1/chat/completions', {
      key: t.key,
      json: {
        model: 'chat@tiny-1',
        messages: [{ role: 'user', content: 'Tell me a story.' }],
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    await gated.started;
    // Past the expiry while the model is still answering.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now() + 100)));
    gated.release();
    const res = await pending;
    expect(res.status).toBe(200);
    const chunks = sseChunks(parseSse(await res.text())) as { usage?: { cost_usd: string } }[];
    const usage = chunks.find((c) => c.usage)?.usage;
    expect(usage).toBeDefined();
    await h.drainUsage();
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(formatUsd(events[0]!.costNanoUsd)).toBe(usage!.cost_usd);

    await expectError(
      await h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input: 'x' } }),
      401,
      'invalid_api_key',
    );
    await h.drainUsage();
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
  });
});

type KeyView = {
  id: string;
  status: string;
  expires_at: string | null;
  scope: { models: string[]; endpoints: string[]; read_only: boolean; ip_allowlist: string[] } | null;
};

describe('managing a key’s scope', () => {
  let h: Harness;
  let owner: TestUser;
  beforeAll(async () => {
    // Keys are cached as in production: the instance that changes a scope must forget it at once.
    h = await createHarness({ env: { AUTH_CACHE_TTL_MS: '60000' } });
    owner = await newOwner(h);
  });
  const patch = (user: TestUser, keyId: string, body: unknown) =>
    h.call(`/account/keys/${keyId}`, { key: user.token, method: 'PATCH', json: body });
  const keyCount = async () =>
    (await json<{ data: unknown[] }>(await h.call('/account/keys', { key: owner.token }))).data.length;

  it('create with a scope: shown on the key, carried by its lookup item, enforced', async () => {
    const res = await h.call('/account/keys', {
      key: owner.token,
      json: {
        name: 'scoped',
        scope: {
          models: ['sentiment'],
          endpoints: ['text'],
          ip_allowlist: ['192.0.2.0/24', '2001:DB8:0::/32'],
        },
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const key = await json<KeyView & { secret: string }>(res);
    expect(key.scope).toEqual({
      models: ['sentiment'],
      endpoints: ['text'],
      read_only: false,
      ip_allowlist: ['192.0.2.0/24', '2001:db8::/32'],
    });
    expect((await h.stores.apiKeys.findByHash(hashApiKey(key.secret)))?.scope).toEqual({
      models: ['sentiment'],
      endpoints: ['text'],
      ipAllowlist: ['192.0.2.0/24', '2001:db8::/32'],
    });
    expect((await sentiment(h, key.secret)).status).toBe(200);
    await expectError(
      await sentiment(h, key.secret, { 'x-test-client-ip': '198.51.100.1' }),
      403,
      'ip_not_in_key_allowlist',
    );
  });

  it('invalid scopes and past expiries are 400s naming the field, and create nothing', async () => {
    const before = await keyCount();
    const cases: [unknown, string][] = [
      [{ scope: { ip_allowlist: ['10.0.0.0/8', '10.0.0.300/8'] } }, 'scope.ip_allowlist[1]'],
      [{ scope: { ip_allowlist: ['10.0.0.5/8'] } }, 'scope.ip_allowlist[0]'],
      [{ scope: { ip_allowlist: ['2001:db8::/129'] } }, 'scope.ip_allowlist[0]'],
      [{ scope: { models: ['no-such-model'] } }, 'scope.models[0]'],
      [{ scope: { models: ['sentiment', 'chat@no-such-version'] } }, 'scope.models[1]'],
      [{ scope: { models: ['chat@latest'] } }, 'scope.models[0]'],
      [{ scope: { models: ['Not A Model'] } }, 'scope.models[0]'],
      [{ scope: { endpoints: ['audio'] } }, 'scope.endpoints[0]'],
      [{ scope: { read_only: 'yes' } }, 'scope.read_only'],
      [{ expires_at: new Date(Date.now() - 60_000).toISOString() }, 'expires_at'],
    ];
    for (const [body, param] of cases) {
      const res = await h.call('/account/keys', {
        key: owner.token,
        json: { name: 'bad', ...(body as object) },
      });
      const err = await expectError(res, 400, 'invalid_request', param);
      expect(err.message).toContain(param);
    }
    expect(await keyCount()).toBe(before);
    const key = await createKey(h, owner, { name: 'target' });
    for (const [body, param] of cases)
      await expectError(await patch(owner, key.id, body), 400, 'invalid_request', param);
    expect((await h.stores.apiKeys.get(owner.tenantId, key.id))?.scope ?? null).toBeNull();
  });

  it('PATCH changes the scope at once on this instance, audits it; null removes it', async () => {
    const key = await createKey(h, owner, { name: 'patched' });
    // Cached by this instance on first use.
    expect((await sentiment(h, key.secret)).status).toBe(200);
    const res = await patch(owner, key.id, { scope: { read_only: true } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<KeyView>(res)).scope).toMatchObject({ read_only: true });
    await expectError(await sentiment(h, key.secret), 403, 'key_read_only');
    const audit = await h.stores.audit.list({ limit: 20 });
    const entry = audit !== 'bad_cursor' && audit.entries.find((e) => e.target.id === key.id);
    expect(entry).toMatchObject({
      action: 'api_key.scope',
      actor: { kind: 'user', id: owner.userId },
      target: { type: 'api_key', tenantId: owner.tenantId, name: 'patched' },
      before: { scope: null },
      after: { scope: { read_only: true } },
    });
    expect((await json<KeyView>(await patch(owner, key.id, { scope: null }))).scope).toBeNull();
    expect((await sentiment(h, key.secret)).status).toBe(200);
    // An expiry in the future; then the key is refused once it passes (the expiry test above).
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const expiring = await patch(owner, key.id, { expires_at: later });
    expect(expiring.status, await expiring.clone().text()).toBe(200);
    expect((await json<KeyView>(expiring)).expires_at).toBe(later);
    await expectError(await patch(owner, key.id, {}), 400, 'invalid_request');
  });

  it('rotation keeps the scope exactly; a rotated key’s expiry does not move', async () => {
    const key = await createKey(h, owner, { name: 'rot', scope: { models: ['sentiment'], read_only: true } });
    const res = await h.call(`/account/keys/${key.id}/rotate`, {
      key: owner.token,
      json: { grace_period_seconds: 60 },
    });
    expect(res.status).toBe(201);
    const rotation = await json<{ key: KeyView & { secret: string } }>(res);
    expect(rotation.key.scope).toEqual({
      models: ['sentiment'],
      endpoints: [],
      read_only: true,
      ip_allowlist: [],
    });
    await expectError(await sentiment(h, rotation.key.secret), 403, 'key_read_only');
    await expectError(
      await patch(owner, key.id, { expires_at: new Date(Date.now() + 86_400_000).toISOString() }),
      409,
      'conflict',
      'expires_at',
    );
  });

  it('a key cannot change keys: no API key reaches the key routes; developers may scope, viewers may not', async () => {
    const key = await createKey(h, owner, { name: 'self', scope: { models: ['sentiment'] } });
    await expectError(
      await h.call(`/account/keys/${key.id}`, { key: key.secret, method: 'PATCH', json: { scope: null } }),
      401,
      'invalid_token',
    );
    await expectError(
      await h.call('/account/keys', { key: key.secret, json: { name: 'wider' } }),
      401,
      'invalid_token',
    );
    expect((await h.stores.apiKeys.get(owner.tenantId, key.id))?.scope).toEqual({ models: ['sentiment'] });

    const dev = await addMember(h, owner, 'developer');
    expect((await patch(dev, key.id, { scope: { endpoints: ['text'] } })).status).toBe(200);
    await expectError(await patch(dev, key.id, { limits: { requests_per_minute: 1 } }), 403, 'forbidden');
    const viewer = await addMember(h, owner, 'viewer');
    await expectError(await patch(viewer, key.id, { scope: null }), 403, 'forbidden');
    expect((await h.stores.apiKeys.get(owner.tenantId, key.id))?.scope).toEqual({ endpoints: ['text'] });
  });
});
