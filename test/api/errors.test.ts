import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../support/harness';

/** Bad input: a 4xx in the OpenAI envelope naming the field, and nothing metered. */
describe('the error envelope', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  async function expectError(res: Response, status: number, code: string, param: string | null = null) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_[0-9A-Z]{26}$/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code, param, request_id: requestId });
    expect(typeof body.error.message).toBe('string');
    expect((body.error.message as string).length).toBeGreaterThan(10);
    expect(typeof body.error.type).toBe('string');
    return body.error;
  }

  it('unknown routes are 404 not_found', async () => {
    await expectError(await h.call('/v2/nothing'), 404, 'not_found');
  });

  it('malformed JSON is 400 invalid_json', async () => {
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      body: '{"model": "sentiment",',
      headers: { 'content-type': 'application/json' },
    });
    await expectError(res, 400, 'invalid_json');
  });

  it('a body that is not JSON is 415', async () => {
    const res = await h.call('/v1/text/sentiment', {
      key: t.key,
      body: 'model=sentiment',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectError(res, 415, 'unsupported_media_type');
  });

  it.each([
    [{ input: 'hi' }, 'model'],
    [{ model: 'sentiment' }, 'input'],
    [{ model: 42, input: 'hi' }, 'model'],
    [{ model: 'sentiment', input: 5 }, 'input'],
    [{ model: 'sentiment', input: '' }, 'input'],
    [{ model: 'sentiment', input: [] }, 'input'],
    [{ model: 'sentiment', input: ['fine', ''] }, 'input[1]'],
    [{ model: 'sentiment', input: 'x'.repeat(32_001) }, 'input'],
    [{ model: 'sentiment', input: Array.from({ length: 65 }, () => 'a') }, 'input'],
    [[1, 2], null],
  ])('wrong types and empty input are 400 naming the field: %j', async (json, param) => {
    const res = await h.call('/v1/text/sentiment', { key: t.key, json });
    const err = await expectError(res, 400, 'invalid_request', param);
    if (param) expect(err.message).toContain(param);
  });

  it.each([
    ['gpt-4', 'does not exist'],
    ['sentiment@v99', "no version or alias 'v99'"],
    ['sentiment@nightly', "no version or alias 'nightly'"],
    ['Sentiment!!', 'does not exist'],
  ])('an unknown model, version or alias (%s) is 400 model_not_found', async (model, words) => {
    const err = await expectError(
      await h.call('/v1/text/sentiment', { key: t.key, json: { model, input: 'hello' } }),
      400,
      'model_not_found',
      'model',
    );
    expect(err.message).toContain(words);
  });

  it('an oversize body is 413', async () => {
    const small = await createHarness({ env: { MAX_BODY_BYTES: '2048' } });
    const tenant = await small.newTenant();
    const res = await small.call('/v1/text/sentiment', {
      key: tenant.key,
      json: { model: 'sentiment', input: 'x'.repeat(4000) },
    });
    await expectError(res, 413, 'request_too_large');
  });

  it('bad usage dates are 400 naming the parameter', async () => {
    await expectError(
      await h.call('/v1/usage?start_date=2026-13-01', { key: t.key }),
      400,
      'invalid_request',
      'start_date',
    );
    await expectError(
      await h.call('/v1/usage?end_date=yesterday', { key: t.key }),
      400,
      'invalid_request',
      'end_date',
    );
    await expectError(
      await h.call('/v1/usage?start_date=2026-02-02&end_date=2026-02-01', { key: t.key }),
      400,
      'invalid_request',
      'start_date',
    );
  });

  it('nothing above was metered', async () => {
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    const res = await h.call('/v1/usage?start_date=2020-01-01&end_date=2020-12-31', { key: t.key });
    expect(((await res.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
