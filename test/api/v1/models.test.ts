import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogAdmin, type ChangeBy } from '#shared/catalog/catalog-admin';
import type { ModelVersion } from '#shared/catalog/types';
import { addMember, createKey, expectError, newOwner } from '../../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

/** Catalog changes made by the test itself, as the CLI would make them. */
const SYSTEM: ChangeBy = { actor: { kind: 'system', id: 'test' }, requestId: null };

/** Extra sentiment versions served by the runtime's one sentiment variant: routing is what is tested. */
function sentimentVersion(id: string, over: Partial<ModelVersion> = {}): ModelVersion {
  return {
    model: 'sentiment',
    version: id,
    status: 'active',
    releasedAt: '2026-04-01T00:00:00.000Z',
    sunsetAt: null,
    prices: { input_tokens: 200 },
    priceBook: 'pb-test',
    endpointName: 'tollgate-test-sentiment',
    variant: 'v1',
    limits: {},
    ...over,
  };
}

async function served(
  h: Harness,
  key: string,
  model: string,
): Promise<{ status: number; model?: string; res: Response }> {
  const res = await h.call('/v1/text/sentiment', { key, json: { model, input: 'a fine day' } });
  const body = (await res.clone().json()) as { model?: string };
  return { status: res.status, model: body.model, res };
}

interface ModelObject {
  id: string;
  object: string;
  created: number;
  owned_by: string;
  task: string;
  default_version: string;
  pinned_version: string | null;
  serving_version: string | null;
  versions: {
    id: string;
    status: string;
    prices: { unit: string; usd: string; per: number }[];
    sunset_at: string | null;
  }[];
}

describe('choosing the version: name, @version, @alias, pin, weights', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    const admin = h.deps.catalogAdmin;
    expect((await admin.createVersion(SYSTEM, sentimentVersion('v2'))).ok).toBe(true);
    expect(
      (
        await admin.createVersion(
          SYSTEM,
          sentimentVersion('v3', { status: 'preview', releasedAt: '2026-05-01T00:00:00Z' }),
        )
      ).ok,
    ).toBe(true);
    expect((await admin.promote(SYSTEM, 'sentiment', 'v3', { aliases: ['beta'] })).ok).toBe(true);
  });

  it('name -> default, @version -> that version, @alias -> its target', async () => {
    expect((await served(h, t.key, 'sentiment')).model).toBe('sentiment@v1');
    expect((await served(h, t.key, 'sentiment@v2')).model).toBe('sentiment@v2');
    expect((await served(h, t.key, 'sentiment@beta')).model).toBe('sentiment@v3');
  });

  it("a tenant's pin overrides the default for that tenant only, and @version still wins", async () => {
    const pinned = await h.newTenant();
    await h.deps.pins.set(pinned.tenantId, {
      model: 'sentiment',
      version: 'v2',
      updatedAt: new Date().toISOString(),
    });
    expect((await served(h, pinned.key, 'sentiment')).model).toBe('sentiment@v2');
    expect((await served(h, pinned.key, 'sentiment@v1')).model).toBe('sentiment@v1');
    expect((await served(h, t.key, 'sentiment')).model).toBe('sentiment@v1');
    // An alias pin follows the alias.
    await h.deps.pins.set(pinned.tenantId, {
      model: 'sentiment',
      version: 'beta',
      updatedAt: new Date().toISOString(),
    });
    expect((await served(h, pinned.key, 'sentiment')).model).toBe('sentiment@v3');
    expect(await h.deps.pins.remove(pinned.tenantId, 'sentiment')).toBe(true);
    expect((await served(h, pinned.key, 'sentiment')).model).toBe('sentiment@v1');
  });

  it('weights split tenants between versions, each tenant sticky, pins and @version unaffected', async () => {
    expect((await h.deps.catalogAdmin.setTraffic(SYSTEM, 'sentiment', { v1: 50, v2: 50 })).ok).toBe(true);
    const tenants = await Promise.all(Array.from({ length: 16 }, () => h.newTenant()));
    const seen = new Map<string, string>();
    for (const tenant of tenants) {
      const first = (await served(h, tenant.key, 'sentiment')).model!;
      expect(['sentiment@v1', 'sentiment@v2']).toContain(first);
      seen.set(tenant.tenantId, first);
      for (let i = 0; i < 2; i++) expect((await served(h, tenant.key, 'sentiment')).model).toBe(first);
      expect((await served(h, tenant.key, 'sentiment@v1')).model).toBe('sentiment@v1');
    }
    // 16 tenants at 50/50 all on one side has probability 2^-15; the hash is fixed, so this is stable.
    expect(new Set(seen.values()).size).toBe(2);
    const events = await h.stores.usage.listEvents(tenants[0]!.tenantId);
    expect(events[0]?.version).toBe(seen.get(tenants[0]!.tenantId)!.split('@')[1]);
    expect((await h.deps.catalogAdmin.setTraffic(SYSTEM, 'sentiment', {})).ok).toBe(true);
  });
});

describe('deprecated and retired versions', () => {
  let h: Harness;
  let t: TestTenant;
  const sunset = '2099-06-30T00:00:00.000Z';
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    await h.deps.catalogAdmin.createVersion(
      SYSTEM,
      sentimentVersion('v0', { releasedAt: '2025-06-01T00:00:00Z' }),
    );
    await h.deps.catalogAdmin.createVersion(
      SYSTEM,
      sentimentVersion('old', { releasedAt: '2025-01-01T00:00:00Z' }),
    );
    expect((await h.deps.catalogAdmin.deprecate(SYSTEM, 'sentiment', 'v0', sunset)).ok).toBe(true);
    expect((await h.deps.catalogAdmin.retire(SYSTEM, 'sentiment', 'old', 'v1')).ok).toBe(true);
  });

  it('a deprecated version answers with Deprecation (RFC 9745) and Sunset headers', async () => {
    const { status, model, res } = await served(h, t.key, 'sentiment@v0');
    expect(status).toBe(200);
    expect(model).toBe('sentiment@v0');
    expect(res.headers.get('deprecation')).toMatch(/^@\d{10}$/);
    expect(res.headers.get('sunset')).toBe(new Date(sunset).toUTCString());
    const current = await served(h, t.key, 'sentiment@v1');
    expect(current.res.headers.get('deprecation')).toBeNull();
    expect(current.res.headers.get('sunset')).toBeNull();
  });

  it('a retired version refuses with 400 model_version_retired naming the replacement, not billed', async () => {
    const other = await h.newTenant();
    const { status, res } = await served(h, other.key, 'sentiment@old');
    expect(status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'model_version_retired', param: 'model' });
    expect(body.error.message).toContain("'sentiment@v1'");
    expect(await h.stores.usage.listEvents(other.tenantId)).toEqual([]);
  });

  it('a pin on a version retired later refuses too, and says it is the pin', async () => {
    const pinned = await h.newTenant();
    await h.deps.pins.set(pinned.tenantId, {
      model: 'sentiment',
      version: 'old',
      updatedAt: new Date().toISOString(),
    });
    const { status, res } = await served(h, pinned.key, 'sentiment');
    expect(status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('your pin');
  });
});

describe('GET /v1/models and /v1/models/{id}', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
    await h.deps.catalogAdmin.createVersion(SYSTEM, sentimentVersion('v2', { status: 'preview' }));
    await h.deps.catalogAdmin.createVersion(
      SYSTEM,
      sentimentVersion('gone', { releasedAt: '2025-01-01T00:00:00Z' }),
    );
    await h.deps.catalogAdmin.retire(SYSTEM, 'sentiment', 'gone', 'v1');
  });

  it('lists every model in the OpenAI shape with versions, status and prices', async () => {
    const res = await h.call('/v1/models', { key: t.key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: ModelObject[] };
    expect(body.object).toBe('list');
    // Each model by name, then each callable version as an entry of its own (OpenAI clients list ids).
    expect(body.data.filter((m) => !m.id.includes('@')).map((m) => m.id)).toEqual([
      'chat',
      'embeddings',
      'image-moderation',
      'ocr',
      'sentiment',
    ]);
    expect(body.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(['ocr@ppocr-v4', 'ocr@tesseract-5', 'sentiment@v1', 'sentiment@v2']),
    );
    expect(body.data.map((m) => m.id)).not.toContain('sentiment@gone');
    for (const m of body.data) {
      expect(m).toMatchObject({ object: 'model', owned_by: 'tollgate' });
      expect(Number.isInteger(m.created)).toBe(true);
    }
    const moderation = body.data.find((m) => m.id === 'image-moderation')!;
    expect(body.data.find((m) => m.id === 'image-moderation@inception-v3')).toMatchObject({
      object: 'model',
      status: 'active',
    });
    expect(moderation.versions.map((v) => v.id)).toEqual([
      'image-moderation@mobilenet-v2',
      'image-moderation@mobilenet-v2-mid',
      'image-moderation@inception-v3',
    ]);
    expect(moderation.versions[0]!.prices).toEqual([{ unit: 'images', usd: '0.000500000', per: 1 }]);
    const sentiment = body.data.find((m) => m.id === 'sentiment')!;
    expect(sentiment.task).toBe('text-sentiment');
    expect(sentiment.serving_version).toBe('sentiment@v1');
    // Preview versions are listed and marked; retired ones are not listed.
    expect(sentiment.versions.map((v) => [v.id, v.status])).toEqual([
      ['sentiment@v1', 'active'],
      ['sentiment@v2', 'preview'],
    ]);
    expect(sentiment.versions[0]!.prices).toEqual([
      { unit: 'input_tokens', usd: '0.100000000', per: 1_000_000 },
    ]);
  });

  it("shows the tenant's own pin and what its plain requests get", async () => {
    const pinned = await h.newTenant();
    await h.deps.pins.set(pinned.tenantId, {
      model: 'sentiment',
      version: 'v2',
      updatedAt: new Date().toISOString(),
    });
    const body = (await (await h.call('/v1/models/sentiment', { key: pinned.key })).json()) as ModelObject;
    expect(body).toMatchObject({ id: 'sentiment', pinned_version: 'v2', serving_version: 'sentiment@v2' });
    const mine = (await (await h.call('/v1/models/sentiment', { key: t.key })).json()) as ModelObject;
    expect(mine.pinned_version).toBeNull();
  });

  it('one version by name@version or alias, retired ones with their replacement', async () => {
    const v = await h.call('/v1/models/ocr@tesseract', { key: t.key });
    expect(v.status).toBe(200);
    expect(await v.json()).toMatchObject({
      id: 'ocr@tesseract-5',
      object: 'model',
      status: 'active',
      model: 'ocr',
    });
    const gone = (await (
      await h.call(`/v1/models/${encodeURIComponent('sentiment@gone')}`, { key: t.key })
    ).json()) as {
      status: string;
      replacement: string;
    };
    expect(gone).toMatchObject({ status: 'retired', replacement: 'v1' });
  });

  it('unknown models and versions are 404 naming id', async () => {
    for (const id of ['nope', 'sentiment@v9', 'BAD!']) {
      const res = await h.call(`/v1/models/${encodeURIComponent(id)}`, { key: t.key });
      expect(res.status, id).toBe(404);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        code: 'not_found',
        param: 'id',
      });
    }
  });

  it('needs an API key', async () => {
    expect((await h.call('/v1/models')).status).toBe(401);
    expect((await h.call('/v1/models/ocr')).status).toBe(401);
  });

  it("GET /account/models: the same list for any member's session, with the tenant's pins, no key needed", async () => {
    const owner = await newOwner(h);
    const viewer = await addMember(h, owner, 'viewer');
    const key = await createKey(h, owner);
    await h.deps.pins.set(owner.tenantId, {
      model: 'sentiment',
      version: 'v2',
      updatedAt: new Date().toISOString(),
    });
    const byKey = await h.call('/v1/models', { key: key.secret });
    expect(byKey.status).toBe(200);
    const expected = await byKey.json();
    for (const user of [owner, viewer]) {
      const res = await h.call('/account/models', { key: user.token });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: ModelObject[] };
      expect(body).toEqual(expected);
      expect(body.data.find((m) => m.id === 'sentiment')).toMatchObject({
        pinned_version: 'v2',
        serving_version: 'sentiment@v2',
      });
    }
    // The browser's way: the session cookie.
    const cookie = await h.call('/account/models', { headers: { cookie: owner.cookie } });
    expect(cookie.status).toBe(200);
    await expectError(await h.call('/account/models'), 401, 'missing_credentials');
    // An API key is not a session.
    expect((await h.call('/account/models', { key: key.secret })).status).toBe(401);
  });
});

describe('an operator change reaches the hot path within CATALOG_CACHE_TTL_MS', () => {
  it('another gateway instance serves the new default once its cache bound has passed', async () => {
    const ttl = 300;
    // Two apps over the same tables: `gateway` stands for another instance than the one changed.
    const gateway = await createHarness({ env: { CATALOG_CACHE_TTL_MS: String(ttl) } });
    const t = await gateway.newTenant();
    expect((await served(gateway, t.key, 'sentiment')).model).toBe('sentiment@v1');
    const operator = gateway.deps;
    const elsewhere = new CatalogAdmin(gateway.stores.catalog, gateway.stores.audit);
    expect((await elsewhere.createVersion(SYSTEM, sentimentVersion('v2'))).ok).toBe(true);
    expect((await elsewhere.promote(SYSTEM, 'sentiment', 'v2', { makeDefault: true })).ok).toBe(true);
    await new Promise((r) => setTimeout(r, ttl + 50));
    expect((await served(gateway, t.key, 'sentiment')).model).toBe('sentiment@v2');
    // The instance that makes a change drops its own cache at once.
    expect((await operator.catalogAdmin.promote(SYSTEM, 'sentiment', 'v1', { makeDefault: true })).ok).toBe(
      true,
    );
    expect((await served(gateway, t.key, 'sentiment')).model).toBe('sentiment@v1');
  });
});
