import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { OpenAPIHono } from '@hono/zod-openapi';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleEnv } from '#api/http/env';
import { handleError, handleNotFound, validationHook } from '#api/http/errors';
import { requestContext } from '#api/middleware/request-context';
import { requireJson } from '#api/middleware/require-json';
import { requireOperator, requireUser } from '#api/middleware/require-role';
import { sessionAuth } from '#api/middleware/session-auth';
import { registerPins } from '#api/routes/account/pins/index';
import { registerAdminModels } from '#api/routes/admin/models/index';
import type { ChangeBy } from '#shared/catalog/catalog-admin';
import {
  addMember,
  createKey,
  expectError,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

/**
 * The admin and pin routes are written for `registerAdmin` and `registerAccount`; until those mount
 * them, they sit here on a test app behind the same session middleware, so real operator and user
 * sessions (and their refusals) are what is tested.
 */
function testApp(h: Harness) {
  const app = new OpenAPIHono<ConsoleEnv>({ defaultHook: validationHook });
  app.use('*', requestContext(h.deps), requireJson());
  app.use('/admin/*', sessionAuth(), requireOperator());
  app.use('/account/*', sessionAuth(), requireUser());
  registerAdminModels(app);
  registerPins(app);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}

const SYSTEM: ChangeBy = { actor: { kind: 'system', id: 'test' }, requestId: null };

/** The catalog entries of the audit log, newest first. */
async function modelAudit(h: Harness) {
  const page = await h.stores.audit.list({ limit: 100 });
  if (page === 'bad_cursor') throw new Error('bad cursor');
  return page.entries.filter((e) => e.target.type === 'model');
}

type AdminModel = {
  name: string;
  default_version: string;
  aliases: Record<string, string>;
  traffic: Record<string, number>;
  revision: number;
  versions: {
    version: string;
    status: string;
    sunset_at: string | null;
    replacement: string | null;
    prices_nano_usd: Record<string, number>;
    batch_prices_nano_usd: Record<string, number>;
    batch_prices_default: boolean;
    price_book: string;
  }[];
};

const VERSION = {
  endpoint_name: 'tollgate-test-sentiment',
  variant: 'v1',
  prices_nano_usd: { input_tokens: 150 },
};

describe('/admin/models: operator changes, each audited', () => {
  let h: Harness;
  let app: ReturnType<typeof testApp>;
  let t: TestTenant;
  let op: TestOperator;
  const as = (method: string, path: string, json?: unknown, token = op.token) =>
    app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(json ? { 'content-type': 'application/json' } : {}),
      },
      body: json ? JSON.stringify(json) : undefined,
    });

  beforeAll(async () => {
    h = await createHarness();
    app = testApp(h);
    t = await h.newTenant();
    op = await newOperator(h);
  });

  it('is for operators only: no session 401, a tenant owner 403', async () => {
    expect((await app.request('/admin/models')).status).toBe(401);
    const owner = await newOwner(h);
    await expectError(await as('GET', '/admin/models', undefined, owner.token), 403, 'forbidden');
    await expectError(
      await as('PUT', '/admin/models/ocr/traffic', { weights: {} }, owner.token),
      403,
      'forbidden',
    );
  });

  it('lists the whole catalog with traffic and revisions', async () => {
    const res = await as('GET', '/admin/models');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: AdminModel[] };
    expect(body.data.map((m) => m.name)).toEqual([
      'chat',
      'embeddings',
      'image-moderation',
      'ocr',
      'sentiment',
    ]);
    expect(body.data.find((m) => m.name === 'image-moderation')!.versions).toHaveLength(3);
  });

  it('creates a model with its first version, once', async () => {
    const json = {
      name: 'sentiment-pro',
      task: 'text-sentiment',
      description: 'A second sentiment model on the same endpoint.',
      units: ['input_tokens'],
      version: { version: 'v1', status: 'active', ...VERSION },
    };
    const res = await as('POST', '/admin/models', json);
    expect(res.status).toBe(201);
    const model = (await res.json()) as AdminModel;
    expect(model).toMatchObject({
      name: 'sentiment-pro',
      default_version: 'v1',
      aliases: { latest: 'v1', stable: 'v1' },
    });
    const call = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment-pro', input: 'lovely' },
    });
    expect(call.status).toBe(200);
    expect(((await call.json()) as { model: string }).model).toBe('sentiment-pro@v1');
    await expectError(await as('POST', '/admin/models', json), 409, 'conflict', 'name');
    const audit = (await modelAudit(h)).filter((e) => e.target.id === 'sentiment-pro');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: { kind: 'operator', id: op.operatorId, email: op.email },
      action: 'model.create',
      before: null,
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('refuses bad model definitions naming the field', async () => {
    const base = {
      name: 'x',
      task: 'ocr',
      description: 'd',
      units: ['images'],
      version: { version: 'v1', ...VERSION },
    };
    await expectError(
      await as('POST', '/admin/models', { ...base, task: 'poetry' }),
      400,
      'invalid_request',
      'task',
    );
    await expectError(
      await as('POST', '/admin/models', { ...base, name: 'Bad Name' }),
      400,
      'invalid_request',
      'name',
    );
    // Billed by images, priced by tokens.
    await expectError(await as('POST', '/admin/models', base), 400, 'invalid_request', 'prices.input_tokens');
  });

  it('a canary: new version, weights, promote, deprecate, retire, prices; every step audited', async () => {
    let res = await as('POST', '/admin/models/sentiment/versions', { version: 'v2', ...VERSION });
    expect(res.status).toBe(201);
    expect(((await res.json()) as AdminModel).versions.find((v) => v.version === 'v2')?.status).toBe(
      'preview',
    );
    await expectError(
      await as('POST', '/admin/models/sentiment/versions', { version: 'v2', ...VERSION }),
      409,
      'conflict',
    );

    res = await as('PUT', '/admin/models/sentiment/traffic', { weights: { v1: 90, v2: 10 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as AdminModel).traffic).toEqual({ v1: 90, v2: 10 });
    await expectError(
      await as('PUT', '/admin/models/sentiment/traffic', { weights: { v9: 1 } }),
      404,
      'not_found',
      'weights.v9',
    );
    await expectError(
      await as('PUT', '/admin/models/sentiment/traffic', { weights: { v1: -1 } }),
      400,
      'invalid_request',
    );

    res = await as('POST', '/admin/models/sentiment/versions/v2/promote', {
      default: true,
      aliases: ['latest'],
    });
    let model = (await res.json()) as AdminModel;
    expect(model.default_version).toBe('v2');
    expect(model.aliases.latest).toBe('v2');
    expect(model.versions.find((v) => v.version === 'v2')?.status).toBe('active');
    await expectError(
      await as('POST', '/admin/models/sentiment/versions/v2/promote', {}),
      400,
      'invalid_request',
    );
    await expectError(
      await as('POST', '/admin/models/sentiment/versions/v2/promote', { aliases: ['v1'] }),
      409,
      'conflict',
      'aliases',
    );

    // The default cannot be deprecated or retired; v1 can now.
    await expectError(
      await as('POST', '/admin/models/sentiment/versions/v2/deprecate', {
        sunset_at: '2099-01-01T00:00:00Z',
      }),
      409,
      'conflict',
    );
    await expectError(
      await as('POST', '/admin/models/sentiment/versions/v1/deprecate', {
        sunset_at: '2001-01-01T00:00:00Z',
      }),
      400,
      'invalid_request',
      'sunset_at',
    );
    res = await as('POST', '/admin/models/sentiment/versions/v1/deprecate', {
      sunset_at: '2099-01-01T00:00:00Z',
    });
    expect(res.status).toBe(200);
    const deprecated = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment@v1', input: 'ok' },
    });
    expect(deprecated.headers.get('sunset')).toBe('Thu, 01 Jan 2099 00:00:00 GMT');

    await expectError(
      await as('POST', '/admin/models/sentiment/versions/v1/retire', { replacement: 'v1' }),
      400,
      'invalid_request',
      'replacement',
    );
    res = await as('POST', '/admin/models/sentiment/versions/v1/retire', { replacement: 'v2' });
    model = (await res.json()) as AdminModel;
    expect(model.versions.find((v) => v.version === 'v1')).toMatchObject({
      status: 'retired',
      replacement: 'v2',
    });
    // Aliases moved to the replacement; the retired version's weight is gone.
    expect(model.aliases.stable).toBe('v2');
    expect(model.traffic).toEqual({ v2: 10 });
    const retired = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment@v1', input: 'ok' },
    });
    expect(retired.status).toBe(400);
    expect(((await retired.json()) as { error: { message: string } }).error.message).toContain(
      'sentiment@v2',
    );

    const before = model.versions.find((v) => v.version === 'v2')!.price_book;
    res = await as('PUT', '/admin/models/sentiment/versions/v2/prices', {
      prices_nano_usd: { input_tokens: 250 },
    });
    model = (await res.json()) as AdminModel;
    const v2 = model.versions.find((v) => v.version === 'v2')!;
    expect(v2.prices_nano_usd).toEqual({ input_tokens: 250 });
    expect(v2.price_book).not.toBe(before);
    await expectError(
      await as('PUT', '/admin/models/sentiment/versions/v2/prices', { prices_nano_usd: { images: 5 } }),
      400,
      'invalid_request',
      'prices.images',
    );
    const billed = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment@v2', input: 'great' },
    });
    const events = await h.stores.usage.listEvents(t.tenantId);
    const last = events.find((e) => e.requestId === billed.headers.get('x-request-id'))!;
    expect(last).toMatchObject({ priceBook: v2.price_book, costNanoUsd: last.units.input_tokens! * 250 });

    const entries = (await modelAudit(h)).filter((e) =>
      ['sentiment', 'sentiment@v1', 'sentiment@v2'].includes(e.target.id),
    );
    const actions = entries.map((e) => e.action);
    expect(actions.sort()).toEqual(
      [
        'model.traffic.set',
        'model.version.create',
        'model.version.promote',
        'model.version.deprecate',
        'model.version.retire',
        'model.version.prices.set',
      ].sort(),
    );
    const retire = entries.find((e) => e.action === 'model.version.retire');
    expect(retire).toMatchObject({
      actor: { kind: 'operator', id: op.operatorId },
      target: { type: 'model', id: 'sentiment@v1' },
      before: { version: { status: 'deprecated' } },
      after: { version: { status: 'retired', replacement: 'v2' } },
    });
  });

  it('a model item written before revisions existed can still be changed', async () => {
    const key = { pk: 'MODEL#image-moderation', sk: 'MODEL' };
    const table = `tollgate-${h.config.STAGE}-main`;
    const { Item } = await h.stores.dynamo.doc.send(new GetCommand({ TableName: table, Key: key }));
    const { revision: _r, ...legacy } = Item!;
    await h.stores.dynamo.doc.send(new PutCommand({ TableName: table, Item: legacy }));
    const res = await as('PUT', '/admin/models/image-moderation/traffic', { weights: { 'mobilenet-v2': 1 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as AdminModel).revision).toBe(1);
  });

  it('unknown models and versions are 404', async () => {
    await expectError(
      await as('PUT', '/admin/models/nope/traffic', { weights: {} }),
      404,
      'not_found',
      'model',
    );
    await expectError(
      await as('POST', '/admin/models/ocr/versions/nope/retire', { replacement: 'ppocr-v4' }),
      404,
      'not_found',
      'version',
    );
  });

  it('concurrent edits of one model both land (the revision check retries), none is lost', async () => {
    const results = await Promise.all([
      as('POST', '/admin/models/ocr/versions/ppocr-v4/promote', { aliases: ['a1'] }),
      as('POST', '/admin/models/ocr/versions/ppocr-v4/promote', { aliases: ['a2'] }),
      as('POST', '/admin/models/ocr/versions/tesseract-5/promote', { aliases: ['a3'] }),
    ]);
    for (const r of results) expect(r.status).toBe(200);
    const list = (await (await as('GET', '/admin/models')).json()) as { data: AdminModel[] };
    const ocr = list.data.find((m) => m.name === 'ocr')!;
    expect(ocr.aliases).toMatchObject({ a1: 'ppocr-v4', a2: 'ppocr-v4', a3: 'tesseract-5' });
    expect(ocr.revision).toBe(3);
  });

  it('batch prices: half the online ones by default, set by operators at most the online price, audited, billed', async () => {
    const name = 'sentiment-batch';
    expect(
      (
        await as('POST', '/admin/models', {
          name,
          task: 'text-sentiment',
          description: 'Batch prices.',
          units: ['input_tokens'],
          version: { version: 'v1', status: 'active', ...VERSION, prices_nano_usd: { input_tokens: 301 } },
        })
      ).status,
    ).toBe(201);
    const versionOf = async () =>
      ((await (await as('GET', '/admin/models')).json()) as { data: AdminModel[] }).data
        .find((m) => m.name === name)!
        .versions.find((v) => v.version === 'v1')!;
    // Default: half, rounded down to a whole nano-USD.
    expect(await versionOf()).toMatchObject({
      prices_nano_usd: { input_tokens: 301 },
      batch_prices_nano_usd: { input_tokens: 150 },
      batch_prices_default: true,
    });
    const path = `/admin/models/${name}/versions/v1/prices`;
    const before = (await versionOf()).price_book;
    await expectError(
      await as('PUT', path, {
        prices_nano_usd: { input_tokens: 300 },
        batch_prices_nano_usd: { input_tokens: 301 },
      }),
      400,
      'invalid_request',
      'batch_prices.input_tokens',
    );
    await expectError(
      await as('PUT', path, { prices_nano_usd: { input_tokens: 300 }, batch_prices_nano_usd: { images: 1 } }),
      400,
      'invalid_request',
      'batch_prices.images',
    );
    await expectError(
      await as('PUT', path, {
        prices_nano_usd: { input_tokens: 300 },
        batch_prices_nano_usd: { input_tokens: -1 },
      }),
      400,
      'invalid_request',
    );
    expect((await versionOf()).price_book).toBe(before);

    const res = await as('PUT', path, {
      prices_nano_usd: { input_tokens: 300 },
      batch_prices_nano_usd: { input_tokens: 90 },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await versionOf()).toMatchObject({
      prices_nano_usd: { input_tokens: 300 },
      batch_prices_nano_usd: { input_tokens: 90 },
      batch_prices_default: false,
    });
    const entry = (await modelAudit(h)).find(
      (e) => e.target.id === `${name}@v1` && e.requestId === res.headers.get('x-request-id'),
    );
    expect(entry).toMatchObject({
      action: 'model.version.prices.set',
      before: { version: { prices: { input_tokens: 301 } } },
      after: { version: { prices: { input_tokens: 300 }, batchPrices: { input_tokens: 90 } } },
    });

    // A batch line is billed at the operator's batch price.
    h.deps.resolver.invalidate();
    const file = await h.call('/v1/files', {
      key: t.key,
      body: (() => {
        const f = new FormData();
        f.set('purpose', 'batch');
        f.set(
          'file',
          new File(
            [
              `${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/text/sentiment', body: { model: name, input: 'lovely day' } })}\n`,
            ],
            'b.jsonl',
          ),
        );
        return f;
      })(),
    });
    expect(file.status, await file.clone().text()).toBe(200);
    const batch = await h.call('/v1/batches', {
      key: t.key,
      json: {
        input_file_id: ((await file.json()) as { id: string }).id,
        endpoint: '/v1/text/sentiment',
        completion_window: '24h',
      },
    });
    expect(batch.status, await batch.clone().text()).toBe(200);
    await h.runBatches();
    const events = await h.stores.usage.listEvents(t.tenantId);
    const line = events.find((e) => e.channel === 'batch' && e.model === name);
    expect(line).toBeDefined();
    expect(line!.costNanoUsd).toBe(line!.units.input_tokens! * 90);

    // New online prices without batch prices: back to the default share of them.
    await as('PUT', path, { prices_nano_usd: { input_tokens: 80 } });
    expect(await versionOf()).toMatchObject({
      batch_prices_nano_usd: { input_tokens: 40 },
      batch_prices_default: true,
    });
  });
});

describe('/account/models/pins', () => {
  let h: Harness;
  let app: ReturnType<typeof testApp>;
  let owner: TestUser;
  /** An API key of the owner's tenant, for the inference calls the pins steer. */
  let key: string;
  const as = (user: TestUser, method: string, path: string, json?: unknown) =>
    app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${user.token}`,
        ...(json ? { 'content-type': 'application/json' } : {}),
      },
      body: json ? JSON.stringify(json) : undefined,
    });

  beforeAll(async () => {
    h = await createHarness();
    app = testApp(h);
    owner = await newOwner(h);
    key = (await createKey(h, owner)).secret;
    await h.deps.catalogAdmin.createVersion(SYSTEM, {
      model: 'sentiment',
      version: 'v2',
      status: 'active',
      releasedAt: '2026-05-01T00:00:00Z',
      sunsetAt: null,
      prices: { input_tokens: 100 },
      priceBook: 'pb-test',
      endpointName: 'tollgate-test-sentiment',
      variant: 'v1',
      limits: {},
    });
  });

  it('sets, lists and removes a pin; requests follow it', async () => {
    let res = await as(owner, 'PUT', '/account/models/pins/sentiment', { version: 'v2' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      model: 'sentiment',
      version: 'v2',
      resolves_to: 'sentiment@v2',
      status: 'active',
    });
    const call = await h.call('/v1/text/sentiment', {
      key,
      json: { model: 'sentiment', input: 'nice' },
    });
    expect(((await call.json()) as { model: string }).model).toBe('sentiment@v2');

    res = await as(owner, 'GET', '/account/models/pins');
    expect(((await res.json()) as { data: unknown[] }).data).toEqual([
      expect.objectContaining({ model: 'sentiment', version: 'v2' }),
    ]);

    res = await as(owner, 'DELETE', '/account/models/pins/sentiment');
    expect(res.status).toBe(204);
    expect((await as(owner, 'DELETE', '/account/models/pins/sentiment')).status).toBe(404);
    const after = await h.call('/v1/text/sentiment', {
      key,
      json: { model: 'sentiment', input: 'nice' },
    });
    expect(((await after.json()) as { model: string }).model).toBe('sentiment@v1');
  });

  it('pins are per tenant: another tenant neither sees nor removes them', async () => {
    const other = await newOwner(h);
    await as(owner, 'PUT', '/account/models/pins/ocr', { version: 'tesseract' });
    expect(
      ((await (await as(other, 'GET', '/account/models/pins')).json()) as { data: unknown[] }).data,
    ).toEqual([]);
    expect((await as(other, 'DELETE', '/account/models/pins/ocr')).status).toBe(404);
    expect(await h.deps.pins.list(owner.tenantId)).toEqual([
      expect.objectContaining({ model: 'ocr', version: 'tesseract' }),
    ]);
  });

  it('refuses pins to unknown models, unknown versions and retired versions', async () => {
    let res = await as(owner, 'PUT', '/account/models/pins/nope', { version: 'v1' });
    expect(res.status).toBe(404);
    res = await as(owner, 'PUT', '/account/models/pins/sentiment', { version: 'v9' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      code: 'model_not_found',
      param: 'version',
    });
    await h.deps.catalogAdmin.retire(SYSTEM, 'sentiment', 'v2', 'v1');
    res = await as(owner, 'PUT', '/account/models/pins/sentiment', { version: 'v2' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_version_retired');
    expect(body.error.message).toContain("'v1'");
  });

  it('every member reads the pins; only owners and developers change them', async () => {
    const viewer = await addMember(h, owner, 'viewer');
    expect((await as(viewer, 'GET', '/account/models/pins')).status).toBe(200);
    await expectError(
      await as(viewer, 'PUT', '/account/models/pins/ocr', { version: 'ppocr-v4' }),
      403,
      'forbidden',
    );
    await expectError(await as(viewer, 'DELETE', '/account/models/pins/ocr'), 403, 'forbidden');
    const developer = await addMember(h, owner, 'developer');
    expect((await as(developer, 'PUT', '/account/models/pins/ocr', { version: 'ppocr-v4' })).status).toBe(
      200,
    );
  });

  it('operators have no tenant to pin for', async () => {
    const op = await newOperator(h);
    const res = await app.request('/account/models/pins', {
      headers: { authorization: `Bearer ${op.token}` },
    });
    expect(res.status).toBe(403);
  });
});
