import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startEmbeddedDynamo } from '../local/dynamodb';
import { startRuntimeProcess } from '../local/runtime/launcher';
import { createDynamo } from '../shared/db/client';
import { keys } from '../shared/db/keys';
import { newId } from '../shared/ids';
import { type UsageEvent, UsageStore } from '../shared/metering/usage-store';
import {
  bundleApiEntry,
  closedLoop,
  cpuSeconds,
  cpuSecondsTree,
  delayProxy,
  fmt,
  http,
  type LatencyStats,
  type LoadResult,
  type Platform,
  rssMb,
  sequential,
  startBundledApi,
  stats,
} from './lib';
import { roundTrips, roundTripTables } from './round-trips';

/** The latency of the slower model in the second latency table (a small model on a GPU endpoint). */
const MODEL_DELAY_MS = 20;

const TEXT = 'The service was quick and the staff were lovely, though the coffee was not great.';

/**
 * The benchmark measures the gateway with every check on, but must not be refused by them: an
 * operator's override lifts the demo tenant's limits before its first request.
 */
export async function liftLimits(endpoint: string, tenantId: string): Promise<void> {
  const { doc, client } = createDynamo({ region: 'us-east-1', endpoint });
  await doc.send(
    new UpdateCommand({
      TableName: 'tollgate-bench-main',
      Key: keys.tenant(tenantId),
      UpdateExpression: 'SET limitOverrides = :o',
      ExpressionAttributeValues: {
        ':o': { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000, maxConcurrent: 100_000 },
      },
    }),
  );
  client.destroy();
}

/** One sentiment request through a gateway at `url`: whether it was served. */
export const gatewayCall = (url: string, key: string) =>
  http(`${url}/v1/text/sentiment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'sentiment', input: TEXT }),
  }).then((r) => r.status === 200);

/** The same sentiment request to the runtime directly and through the gateway. */
export function sentimentCalls(p: { runtimeUrl: string; url: string; key: string | null }) {
  const direct = () =>
    http(`${p.runtimeUrl}/endpoints/tollgate-bench-sentiment/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amzn-sagemaker-target-variant': 'v1' },
      body: JSON.stringify({ inputs: [TEXT] }),
    }).then((r) => r.status === 200);
  const gateway = () => gatewayCall(p.url, p.key ?? '');
  return { direct, gateway };
}

/**
 * The one write a served request makes, made alone from this process: a usage record (a
 * conditional PutItem) like the gateway's, through the same client code. Its latency is the floor
 * under the gateway's added latency when the model answers faster than the store (the record must
 * be durable before the answer leaves); its rate, the store's ceiling for the gateway.
 */
export function usageRecordWriter(endpoint: string, table: string) {
  const dynamo = createDynamo({ region: 'us-east-1', endpoint });
  const usage = new UsageStore(dynamo.doc, table);
  // Several tenants, as the load spreads: one partition per tenant and day-shard.
  const tenants = Array.from({ length: 16 }, () => newId('ten'));
  let next = 0;
  const write = () => {
    const event: UsageEvent = {
      requestId: newId('req'),
      tenantId: tenants[next++ % tenants.length]!,
      keyId: 'key_bench',
      model: 'sentiment',
      version: 'v1',
      units: { input_tokens: 17 },
      costNanoUsd: 1_700,
      priceBook: 'bench',
      latencyMs: 0,
      status: 'succeeded',
      at: new Date().toISOString(),
      leaseId: 'lease_bench',
    };
    return usage.record(event).then((r) => r === 'recorded');
  };
  return { write, close: () => dynamo.client.destroy() };
}

/**
 * The round trips and the DynamoDB capacity per request alone (`--only trips`): a short way to see
 * what a change to the hot path does to them, without the latency and load runs.
 */
export async function benchRoundTrips(opts: { quick: boolean }): Promise<string> {
  const dynamo = await startEmbeddedDynamo({ dataDir: null });
  const runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: 'bench' } }).catch(async (err) => {
    await dynamo.stop();
    throw err;
  });
  const bundle = await bundleApiEntry();
  try {
    const endpoints = { dynamo: dynamo.endpoint, runtime: runtime.url };
    // A first API process seeds the tables and prints the demo key; the metered one starts after
    // the limits are lifted, so it never caches the demo tenant's own.
    const p = await startBundledApi(bundle.file, endpoints);
    const account = { key: p.key ?? '', tenantId: p.tenantId };
    await p.stop();
    if (!account.key) throw new Error('the API printed no demo key');
    await liftLimits(dynamo.endpoint, account.tenantId);
    return roundTripTables(
      await roundTrips(bundle.file, endpoints, account, gatewayCall, opts.quick ? 10 : 60),
    ).join('\n');
  } finally {
    bundle.dispose();
    await runtime.stop();
    await dynamo.stop();
  }
}

/**
 * The gateway's added latency over calling the model runtime directly (same payload, same
 * client, interleaved so drift hits both sides), and the load it sustains with every check on.
 * DynamoDB Local and the runtime run as their own processes, the API (bundled, plain node) as
 * another, so its memory and CPU are its own.
 */
export async function benchGateway(opts: { quick: boolean }): Promise<string> {
  const lines: string[] = [];
  const dynamo = await startEmbeddedDynamo({ dataDir: null });
  const runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: 'bench' } }).catch(async (err) => {
    await dynamo.stop();
    throw err;
  });
  const bundle = await bundleApiEntry();
  let p: Platform | undefined;
  try {
    const endpoints = { dynamo: dynamo.endpoint, runtime: runtime.url };
    // In AWS the usage consumer is a function of its own, not part of the API's work: the API
    // measured here runs without it. The round-trip run below runs it (one consumer per store) and
    // counts its writes.
    p = await startBundledApi(bundle.file, endpoints, [], { USAGE_CONSUMER: '0' });
    const key = p.key;
    if (!key) throw new Error('the API printed no demo key');
    const pid = p.child.pid!;
    await liftLimits(dynamo.endpoint, p.tenantId);
    const { direct, gateway } = sentimentCalls({ ...p, key });
    const idleRss = rssMb(pid);

    // One request at a time, interleaved in blocks: the runtime directly, through the gateway,
    // and the gateway's one store write alone (the floor under what the gateway adds).
    const store = usageRecordWriter(dynamo.endpoint, 'tollgate-bench-usage');
    const blocks = opts.quick ? 3 : 10;
    const perBlock = 100;
    const d: number[] = [];
    const g: number[] = [];
    const w: number[] = [];
    await sequential(50, 0, direct);
    await sequential(50, 0, gateway);
    await sequential(50, 0, store.write);
    let gatewayCpu = 0;
    for (let b = 0; b < blocks; b++) {
      for (const [call, into] of [
        [direct, d],
        [gateway, g],
        [store.write, w],
      ] as const) {
        const cpu = cpuSeconds(pid);
        for (let i = 0; i < perBlock; i++) {
          const t = performance.now();
          if (!(await call())) throw new Error('call failed');
          into.push(performance.now() - t);
        }
        if (call === gateway) gatewayCpu += cpuSeconds(pid) - cpu;
      }
    }
    const sd = stats(d);
    const sg = stats(g);
    const sw = stats(w);
    lines.push(
      '### Added latency, one request at a time (`POST /v1/text/sentiment`, one short text; quotas and metering on)',
      '',
      "The third row is the gateway's one store write made alone from the bench process (a usage " +
        'record: one conditional PutItem to DynamoDB Local, through the same client code), measured ' +
        'in the same blocks. The record must be durable before the answer leaves, so when the model ' +
        'answers faster than the store (this sentiment model: well under a millisecond) that write is ' +
        "a floor under what the gateway adds; with a model of a GPU endpoint's latency it overlaps " +
        'the call (next table).',
      '',
    );
    lines.push('| path | n | p50 ms | p90 ms | p99 ms |', '|---|---:|---:|---:|---:|');
    const row = (name: string, s: LatencyStats) =>
      `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} |`;
    lines.push(
      row('model runtime, direct', sd),
      row('through the gateway', sg),
      row('the store alone: one usage record (PutItem)', sw),
    );
    lines.push(
      `| **added by the gateway** | | **${fmt(sg.p50 - sd.p50)}** | ${fmt(sg.p90 - sd.p90)} | **${fmt(sg.p99 - sd.p99)}** |`,
      `| added beyond the store's write | | ${fmt(sg.p50 - sd.p50 - sw.p50)} | ${fmt(sg.p90 - sd.p90 - sw.p90)} | ${fmt(sg.p99 - sd.p99 - sw.p99)} |`,
      '',
      `API process CPU per request (user + system, from /proc): ${fmt((gatewayCpu * 1000) / g.length)} ms.`,
      '',
    );

    // The same, with a model of a remote endpoint's latency: the runtime behind a pass-through
    // that answers MODEL_DELAY_MS later, called directly and by a second API process using it.
    const slow = await delayProxy(runtime.url, MODEL_DELAY_MS);
    const p2 = await startBundledApi(bundle.file, { ...endpoints, runtime: slow.url }, [], {
      USAGE_CONSUMER: '0',
    });
    try {
      const slowCalls = sentimentCalls({ runtimeUrl: slow.url, url: p2.url, key });
      await sequential(20, 0, slowCalls.direct);
      await sequential(20, 0, slowCalls.gateway);
      const sdd: number[] = [];
      const sgg: number[] = [];
      for (let b = 0; b < (opts.quick ? 3 : 8); b++) {
        for (const [call, into] of [
          [slowCalls.direct, sdd],
          [slowCalls.gateway, sgg],
        ] as const) {
          for (let i = 0; i < 40; i++) {
            const t = performance.now();
            if (!(await call())) throw new Error('call failed');
            into.push(performance.now() - t);
          }
        }
      }
      const a = stats(sdd);
      const b = stats(sgg);
      lines.push(
        `### Added latency with a model of ${MODEL_DELAY_MS} ms (the same runtime behind a pass-through that answers ${MODEL_DELAY_MS} ms later)`,
        '',
        "The usage record is written while the model runs, so the store's write leaves the path " +
          'once the model takes longer than it.',
        '',
        '| path | n | p50 ms | p90 ms | p99 ms |',
        '|---|---:|---:|---:|---:|',
        row(`model (${MODEL_DELAY_MS} ms), direct`, a),
        row('through the gateway', b),
        `| **added by the gateway** | | **${fmt(b.p50 - a.p50)}** | ${fmt(b.p90 - a.p90)} | **${fmt(b.p99 - a.p99)}** |`,
        '',
      );
    } finally {
      await p2.stop();
      await slow.close();
    }

    // What each request costs the store and the model, counted on the wire.
    lines.push(
      ...roundTripTables(
        await roundTrips(
          bundle.file,
          endpoints,
          { key, tenantId: p.tenantId },
          gatewayCall,
          opts.quick ? 10 : 60,
        ),
      ),
    );

    // Under load: closed loops at rising concurrency, gateway beside direct.
    const seconds = opts.quick ? 3 : 8;
    const levels = opts.quick ? [1, 16] : [1, 8, 16, 32, 64];
    const loadRows: {
      c: number;
      direct: LoadResult;
      gateway: LoadResult;
      rss: number;
      cpuMs: number;
      storeCpuMs: number;
    }[] = [];
    let maxRss = rssMb(pid);
    for (const c of levels) {
      const dr = await closedLoop(c, seconds, direct);
      let rowRss = rssMb(pid);
      const timer = setInterval(() => {
        rowRss = Math.max(rowRss, rssMb(pid));
      }, 200);
      const cpu = cpuSeconds(pid);
      const storeCpu = cpuSecondsTree(dynamo.pid);
      const gr = await closedLoop(c, seconds, gateway);
      clearInterval(timer);
      maxRss = Math.max(maxRss, rowRss);
      loadRows.push({
        c,
        direct: dr,
        gateway: gr,
        rss: rowRss,
        cpuMs: ((cpuSeconds(pid) - cpu) * 1000) / gr.n,
        storeCpuMs: ((cpuSecondsTree(dynamo.pid) - storeCpu) * 1000) / gr.n,
      });
    }

    const storeLines: string[] = [];
    const storeRps = new Map<number, number>();
    // The store's own ceiling for the one write the gateway makes per served request.
    storeLines.push(
      '### The store alone (DynamoDB Local, in memory): the one write each served request makes',
      '',
      '| operation | concurrency | writes/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const c of levels) {
      const r = await closedLoop(c, seconds, store.write);
      storeRps.set(c, r.rps);
      storeLines.push(
        `| usage record (conditional PutItem) | ${c} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} |`,
      );
    }
    storeLines.push('');
    store.close();

    lines.push(
      `### Under load (closed loop, ${seconds} s per row), beside the store's own ceiling`,
      '',
      'The last column is the store alone: usage records per second that DynamoDB Local writes at the ' +
        'same concurrency (see below), with the gateway and the runtime idle. Every served request ' +
        'needs one, on the same two cores: it is the ceiling the embedded store sets for the gateway.',
      '',
      '| concurrency | direct req/s | gateway req/s | gateway p50 ms | gateway p99 ms | errors | API CPU ms/req | DynamoDB Local CPU ms/req | API RSS MB (max) | store writes/s |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of loadRows) {
      lines.push(
        `| ${r.c} | ${r.direct.rps.toFixed(0)} | **${r.gateway.rps.toFixed(0)}** | ${fmt(r.gateway.p50)} | ${fmt(r.gateway.p99)} | ${r.gateway.errors + r.direct.errors} | ${fmt(r.cpuMs)} | ${fmt(r.storeCpuMs)} | ${r.rss.toFixed(0)} | ${storeRps.get(r.c)?.toFixed(0) ?? ''} |`,
      );
    }
    lines.push(
      '',
      `API process memory: ${idleRss.toFixed(0)} MB RSS idle after start, ${maxRss.toFixed(0)} MB at most under load ` +
        '(the API runs bundled on plain node, as a function does; `npm start` runs it under tsx, which adds about 50 MB).',
      '',
    );
    lines.push(...storeLines);
  } finally {
    await p?.stop();
    bundle.dispose();
    await runtime.stop();
    await dynamo.stop();
  }
  return lines.join('\n');
}
