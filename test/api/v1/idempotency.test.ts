import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';

describe('Idempotency-Key', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });
  const call = (key: string, input: string, tenant = t) =>
    h.call('/v1/text/sentiment', {
      key: tenant.key,
      json: { model: 'sentiment', input },
      headers: { 'idempotency-key': key },
    });

  it('a retry returns the first answer and is billed once', async () => {
    const first = await call('retry-1', 'what a lovely morning');
    expect(first.status).toBe(200);
    const body = await first.text();
    const again = await Promise.all([
      call('retry-1', 'what a lovely morning'),
      call('retry-1', 'what a lovely morning'),
    ]);
    for (const r of again) {
      expect(r.status).toBe(200);
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(r.headers.get('x-model-version')).toBe('sentiment@v1');
      expect(await r.text()).toBe(body);
    }
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]!.requestId).toBe(JSON.parse(body).id);
  });

  it('concurrent first attempts: one is served, the others are told to retry, nothing is billed twice', async () => {
    const before = (await h.stores.usage.listEvents(t.tenantId)).length;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call('race-1', 'the same request, six times')),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('idempotency_in_progress');
    }
    expect((await h.stores.usage.listEvents(t.tenantId)).length).toBe(before + 1);
  });

  it('the same key with another body is 422 and serves nothing', async () => {
    await call('reuse-1', 'first body');
    const before = (await h.stores.usage.listEvents(t.tenantId)).length;
    const res = await call('reuse-1', 'a different body');
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: 'idempotency_key_reused',
      param: 'Idempotency-Key',
    });
    expect((await h.stores.usage.listEvents(t.tenantId)).length).toBe(before);
  });

  it('keys are per tenant, and a failed attempt can be retried', async () => {
    const other = await h.newTenant();
    expect((await call('shared-name', 'tenant one')).status).toBe(200);
    expect((await call('shared-name', 'tenant two', other)).status).toBe(200);
    const bad = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment@v404', input: 'x' },
      headers: { 'idempotency-key': 'fails-first' },
    });
    expect(bad.status).toBe(400);
    const good = await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment@v404', input: 'x' },
      headers: { 'idempotency-key': 'fails-first' },
    });
    expect(good.status).toBe(400);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a malformed key is 400 naming the header', async () => {
    const res = await call('has spaces in it', 'x');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('Idempotency-Key');
  });
});
