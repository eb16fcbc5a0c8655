import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
import { type MetricName, metricDefinitions, metricsNamespace } from '../../shared/observability/metrics';
import { emfMetrics } from '../../shared/observability/metrics-sink';
import { createHarness, type Harness } from '../support/harness';

type Emf = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
} & Record<string, unknown>;

/** A harness whose metrics are EMF lines captured as Lambda would print them. */
async function withEmf(opts: Parameters<typeof createHarness>[0] = {}) {
  const lines: string[] = [];
  let stage = '';
  const h = await createHarness({
    ...opts,
    metrics: {
      emit: (name, value, dims) =>
        emfMetrics({ service: 'api', Stage: stage }, (line) => lines.push(line)).emit(name, value, dims),
    },
  });
  stage = h.config.STAGE;
  const records = () => lines.map((line) => JSON.parse(line) as Emf);
  const named = (name: MetricName) => records().filter((r) => name in r);
  return { h, lines, records, named, clear: () => lines.splice(0) };
}

/** Each record is exactly the contract's: namespace, one dimension set, unit, every dimension valued. */
function expectContract(record: Emf) {
  const [directive] = record._aws.CloudWatchMetrics;
  expect(record._aws.CloudWatchMetrics).toHaveLength(1);
  const metric = directive!.Metrics[0]!;
  const definition = metricDefinitions[metric.Name as MetricName];
  expect(definition, metric.Name).toBeDefined();
  expect(directive!.Namespace).toBe(metricsNamespace);
  expect(directive!.Dimensions).toEqual([[...definition.dimensions]]);
  expect(metric.Unit).toBe(definition.unit);
  for (const dim of definition.dimensions) expect(typeof record[dim], dim).toBe('string');
  // No tenant, key or request id rides along: the record holds its dimensions and its value only.
  expect(Object.keys(record).sort()).toEqual(['_aws', metric.Name, ...definition.dimensions].sort());
}

describe('the API emits the metrics the dashboard reads (EMF)', () => {
  let m: Awaited<ReturnType<typeof withEmf>>;
  beforeAll(async () => {
    m = await withEmf();
  });

  it('a served request: Requests, Latency and Units by model version', async () => {
    const t = await m.h.newTenant();
    m.clear();
    const res = await m.h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'I love it' },
    });
    expect(res.status).toBe(200);
    const served = res.headers.get('x-model-version')!;
    expect(served).toMatch(/^sentiment@/);
    for (const record of m.records()) expectContract(record);
    expect(m.named('Requests')).toEqual([
      expect.objectContaining({ Requests: 1, service: 'api', Stage: m.h.config.STAGE, ModelVersion: served }),
    ]);
    const [latency] = m.named('Latency');
    expect(latency).toMatchObject({ ModelVersion: served });
    expect(latency!.Latency).toBeGreaterThanOrEqual(0);
    const units = m.named('Units');
    expect(units.length).toBeGreaterThan(0);
    const events = await m.h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    // The metric equals what was metered, unit by unit.
    for (const [unit, value] of Object.entries(events[0]!.units)) {
      if (value)
        expect(units).toContainEqual(
          expect.objectContaining({ Unit: unit, Units: value, ModelVersion: served }),
        );
    }
    expect(m.named('Errors')).toEqual([]);
    expect(m.named('Refusals')).toEqual([]);
  });

  it('a refusal by a limit: Refusals with the code, no Latency, no Units', async () => {
    const t = await m.h.newTenant({ limitOverrides: { requestsPerMinute: 1 } });
    await m.h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input: 'one' } });
    m.clear();
    const res = await m.h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'two' },
    });
    expect(res.status).toBe(429);
    const code = ((await res.json()) as { error: { code: string } }).error.code;
    for (const record of m.records()) expectContract(record);
    expect(m.named('Refusals')).toEqual([
      expect.objectContaining({ Refusals: 1, Code: code, ModelVersion: res.headers.get('x-model-version') }),
    ]);
    expect(m.named('Latency')).toEqual([]);
    expect(m.named('Units')).toEqual([]);
  });

  it('a refusal by the account state, before any model is resolved: ModelVersion none', async () => {
    const t = await m.h.newTenant({ status: 'suspended' });
    m.clear();
    const res = await m.h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'x' },
    });
    expect(res.status).toBe(403);
    const code = ((await res.json()) as { error: { code: string } }).error.code;
    expect(m.named('Refusals')).toEqual([expect.objectContaining({ Code: code, ModelVersion: 'none' })]);
    expect(m.named('Requests')).toEqual([]);
  });

  it('a bad request is neither an error nor a refusal', async () => {
    const t = await m.h.newTenant();
    m.clear();
    const res = await m.h.call('/v1/text/sentiment', { key: t.key, json: { model: 'nope', input: 'x' } });
    expect(res.status).toBe(400);
    expect(m.named('Errors')).toEqual([]);
    expect(m.named('Refusals')).toEqual([]);
  });

  it('a streamed completion: Latency once the stream has ended, Units for both directions', async () => {
    const t = await m.h.newTenant();
    m.clear();
    const res = await m.h.call('/v1/chat/completions', {
      key: t.key,
      json: {
        model: 'chat',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 4,
        temperature: 0,
        stream: true,
      },
    });
    expect(res.status).toBe(200);
    await res.text();
    for (const record of m.records()) expectContract(record);
    expect(m.named('Latency')).toEqual([expect.objectContaining({ ModelVersion: 'chat@tiny-1' })]);
    expect(
      m
        .named('Units')
        .map((r) => r.Unit)
        .sort(),
    ).toEqual(['input_tokens', 'output_tokens']);
  });
});

describe('a model error is counted as an Error by code', () => {
  let garbage: Server;
  let url = '';
  beforeAll(async () => {
    garbage = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json</html>');
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
  });
  afterAll(() => garbage.close());

  it('502 model_error: Requests and Errors{Code: model_error}, no Latency, no Units', async () => {
    const m = await withEmf({ models: new SageMakerModelClient({ region: 'us-east-1', endpoint: url }) });
    const t = await m.h.newTenant();
    m.clear();
    const res = await m.h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'x' },
    });
    expect(res.status).toBe(502);
    const served = res.headers.get('x-model-version');
    for (const record of m.records()) expectContract(record);
    expect(m.named('Errors')).toEqual([
      expect.objectContaining({ Errors: 1, Code: 'model_error', ModelVersion: served, service: 'api' }),
    ]);
    expect(m.named('Requests')).toEqual([expect.objectContaining({ ModelVersion: served })]);
    expect(m.named('Latency')).toEqual([]);
    expect(m.named('Units')).toEqual([]);
  });
});

describe('the local adapter', () => {
  it('writes the same records as debug log lines', async () => {
    const h: Harness = await createHarness();
    const t = await h.newTenant();
    await h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input: 'fine' } });
    const metrics = h.logs
      .map((line) => JSON.parse(line) as { msg?: string; metric?: Emf })
      .filter((l) => l.msg === 'metric')
      .map((l) => l.metric!);
    expect(metrics.map((r) => r._aws.CloudWatchMetrics[0]!.Metrics[0]!.Name)).toEqual(
      expect.arrayContaining(['Requests', 'Latency', 'Units']),
    );
    for (const record of metrics) expectContract(record);
  });
});
