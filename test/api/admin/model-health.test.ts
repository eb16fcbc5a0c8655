import { beforeAll, describe, expect, inject, it } from 'vitest';
import { type FailureReason, type ModelClient, ModelStreamFailure } from '#shared/models/model-client';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { PERCENTILE_ERROR } from '#shared/observability/latency-histogram';
import { expectError, json, newOperator, newOwner, type TestOperator } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Row = {
  model_version: string;
  requests: number;
  succeeded: number;
  refused: number;
  failed: number;
  client_errors: number;
  refusal_rate: number;
  error_rate: number;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null };
  refusals_by_code: Record<string, number>;
  errors_by_code: Record<string, number>;
  alert: string | null;
};
type Health = { object: 'list'; start_date: string; end_date: string; data: Row[] };

/**
 * The real runtime, except that the next calls fail the way the test says (the machine's edge);
 * a failing stream sends one part, then fails.
 */
function failingModels(): ModelClient & {
  fail: (reason: FailureReason | null) => void;
  stall: (on: boolean) => void;
} {
  const real = new SageMakerModelClient({ region: 'us-east-1', endpoint: inject('runtimeUrl') });
  let failure: FailureReason | null = null;
  let stalling = false;
  /** One part, then nothing until the gateway aborts the call (its client went away). */
  async function* stalledStream(signal: AbortSignal | undefined) {
    const line = JSON.stringify({ delta: 'Hel', usage: { input_tokens: 3, output_tokens: 1 } });
    yield new TextEncoder().encode(`${line}\n`);
    await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
    throw new ModelStreamFailure('aborted', 'aborted');
  }
  async function* brokenStream() {
    const line = JSON.stringify({ delta: 'Hel', usage: { input_tokens: 3, output_tokens: 1 } });
    yield new TextEncoder().encode(`${line}\n`);
    throw new ModelStreamFailure('model_error', 'told to fail mid-stream');
  }
  return {
    fail: (reason) => {
      failure = reason;
    },
    stall: (on) => {
      stalling = on;
    },
    invoke: async (call) =>
      failure ? { ok: false, reason: failure, detail: 'told to fail', latencyMs: 1 } : real.invoke(call),
    invokeStream: async (call) =>
      stalling
        ? { ok: true, stream: stalledStream(call.signal), invokedVariant: call.variant, latencyMs: 1 }
        : failure
          ? { ok: true, stream: brokenStream(), invokedVariant: call.variant, latencyMs: 1 }
          : real.invokeStream(call),
  };
}

describe('model version health for operators (GET /admin/models/health)', () => {
  let h: Harness;
  let op: TestOperator;
  const models = failingModels();
  const today = new Date().toISOString().slice(0, 10);
  const durations: number[] = [];
  let served = '';

  const sentiment = async (key: string) => {
    const started = performance.now();
    const res = await h.call('/v1/text/sentiment', {
      key,
      json: { model: 'sentiment', input: 'a fine day' },
    });
    if (res.status === 200) durations.push(performance.now() - started);
    return res;
  };
  const health = async (query = `?start_date=${today}&end_date=${today}`) => {
    const res = await h.call(`/admin/models/health${query}`, { key: op.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<Health>(res);
  };

  beforeAll(async () => {
    // The harness flushes nothing on its own: the test flushes when it means to.
    h = await createHarness({ models });
    op = await newOperator(h);
  });

  it('counts served, refused, failed and client-error answers per version, with latency percentiles', async () => {
    // Served, then refused by a per-minute limit of 3.
    const limited = await h.newTenant({ limitOverrides: { requestsPerMinute: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await sentiment(limited.key);
      statuses.push(res.status);
      served ||= res.headers.get('x-model-version') ?? '';
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(served).toMatch(/^sentiment@/);
    // Served, then failed by the model: an error (502) and a timeout (504); one the model refuses (400).
    const t = await h.newTenant();
    expect((await sentiment(t.key)).status).toBe(200);
    expect((await sentiment(t.key)).status).toBe(200);
    models.fail('model_error');
    expect((await sentiment(t.key)).status).toBe(502);
    models.fail('timeout');
    expect((await sentiment(t.key)).status).toBe(504);
    models.fail('rejected');
    expect((await sentiment(t.key)).status).toBe(400);
    models.fail(null);
    // Refused before any version was resolved: a suspended tenant.
    const suspended = await h.newTenant({ status: 'suspended' });
    expect((await sentiment(suspended.key)).status).toBe(403);

    // Recorded in memory only until a flush.
    expect((await health()).data).toEqual([]);
    await h.deps.modelHealth.flush();
    const rows = (await health()).data;
    const row = rows.find((r) => r.model_version === served);
    expect(row).toMatchObject({
      requests: 10,
      succeeded: 5,
      refused: 2,
      failed: 2,
      client_errors: 1,
      refusal_rate: 0.2,
      error_rate: 0.2,
      refusals_by_code: { rate_limit_requests: 2 },
      errors_by_code: { model_error: 1, model_timeout: 1 },
      // 2 failures of 10 answers: not failing.
      alert: null,
    });
    const { p50, p90, p99 } = row!.latency_ms;
    expect(p50).not.toBeNull();
    expect(p50!).toBeGreaterThanOrEqual(0);
    expect(p50!).toBeLessThanOrEqual(p90!);
    expect(p90!).toBeLessThanOrEqual(p99!);
    // The gateway's own latency of a served request is inside the time the caller waited for it.
    const slowest = Math.max(...durations);
    expect(p99!).toBeLessThanOrEqual(
      slowest * (1 + PERCENTILE_ERROR.relative) + PERCENTILE_ERROR.absoluteMs + PERCENTILE_ERROR.roundingMs,
    );
    expect(rows.find((r) => r.model_version === 'none')).toMatchObject({
      requests: 1,
      refused: 1,
      refusals_by_code: { tenant_inactive: 1 },
      latency_ms: { p50: null, p90: null, p99: null },
    });
    // Busiest first.
    expect(rows[0]!.model_version).toBe(served);
  });

  it('a version failing every call is flagged with its codes (a version whose weights are not installed)', async () => {
    const t = await h.newTenant();
    const call = () =>
      h.call('/v1/chat/completions', {
        key: t.key,
        json: { model: 'chat@smollm2-135m', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
      });
    expect((await call()).status).toBe(503);
    expect((await call()).status).toBe(503);
    await h.deps.modelHealth.flush();
    // Two failures are not yet a pattern.
    expect((await health()).data.find((r) => r.model_version === 'chat@smollm2-135m')?.alert).toBeNull();
    expect((await call()).status).toBe(503);
    await h.deps.modelHealth.flush();
    const row = (await health()).data.find((r) => r.model_version === 'chat@smollm2-135m');
    expect(row).toMatchObject({ failed: 3, error_rate: 1 });
    expect(row!.alert).toBe('3 of 3 answers failed (100%): model_not_installed 3');
  });

  it('adds up across instances and flushes, never counting a flush twice', async () => {
    const before = (await health()).data.find((r) => r.model_version === served)!;
    await h.deps.modelHealth.flush(); // nothing pending: writes nothing
    const second = await createHarness({ sameTablesAs: h });
    const t = await second.newTenant();
    const res = await second.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'another instance' },
    });
    expect(res.status).toBe(200);
    expect((await sentiment(t.key)).status).toBe(200);
    await Promise.all([second.deps.modelHealth.close(), h.deps.modelHealth.flush()]);
    const after = (await health()).data.find((r) => r.model_version === served)!;
    expect(after.requests).toBe(before.requests + 2);
    expect(after.succeeded).toBe(before.succeeded + 2);
    expect(after.refused).toBe(before.refused);
  });

  it('a stream that fails after its 200 counts as failed, with the code its error event carried', async () => {
    const t = await h.newTenant();
    const chat = (stream: boolean) =>
      h.call('/v1/chat/completions', {
        key: t.key,
        json: { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream },
      });
    const ok = await chat(true);
    expect(ok.status).toBe(200);
    await ok.text();
    const version = ok.headers.get('x-model-version')!;
    models.fail('model_error');
    const broken = await chat(true);
    expect(broken.status).toBe(200);
    expect(await broken.text()).toContain('event: error');
    models.fail(null);
    await h.deps.modelHealth.flush();
    expect((await health()).data.find((r) => r.model_version === version)).toMatchObject({
      requests: 2,
      succeeded: 1,
      failed: 1,
      errors_by_code: { model_error: 1 },
    });
  });

  it('a stream its client abandons counts as a client error (499), not a success or a failure', async () => {
    const t = await h.newTenant();
    models.stall(true);
    const res = await h.call('/v1/chat/completions', {
      key: t.key,
      json: { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true },
    });
    expect(res.status).toBe(200);
    const version = res.headers.get('x-model-version')!;
    const before = (await health()).data.find((r) => r.model_version === version);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('data:');
    await reader.cancel('the client went away');
    models.stall(false);
    await h.deps.modelHealth.flush();
    const after = (await health()).data.find((r) => r.model_version === version)!;
    expect(after.requests).toBe((before?.requests ?? 0) + 1);
    expect(after.client_errors).toBe((before?.client_errors ?? 0) + 1);
    expect(after.succeeded).toBe(before?.succeeded ?? 0);
    expect(after.failed).toBe(before?.failed ?? 0);
  });

  it('reads a range of days: an earlier range has none of today', async () => {
    expect((await health('?start_date=2026-01-01&end_date=2026-01-31')).data).toEqual([]);
    const all = await health(`?start_date=2026-01-01&end_date=${today}`);
    expect(all.data.map((r) => r.model_version)).toContain(served);
  });

  it('is for operators only, and checks its dates like /admin/usage', async () => {
    const owner = await newOwner(h);
    await expectError(await h.call('/admin/models/health', { key: owner.token }), 403, 'forbidden');
    const bad = (q: string) => h.call(`/admin/models/health?${q}`, { key: op.token });
    await expectError(await bad('start_date=yesterday'), 400, 'invalid_request', 'start_date');
    await expectError(await bad('end_date=2026-02-30'), 400, 'invalid_request', 'end_date');
    await expectError(
      await bad('start_date=2026-03-02&end_date=2026-03-01'),
      400,
      'invalid_request',
      'start_date',
    );
  });
});
