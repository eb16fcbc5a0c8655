import { readFileSync } from 'node:fs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo } from '../shared/db/client';
import { keys } from '../shared/db/keys';
import { newId } from '../shared/ids';
import { defaultPlans, effectiveLimits } from '../shared/quotas/plans';
import { QuotaStore } from '../shared/quotas/quota-store';
import {
  closedLoop,
  fmt,
  http,
  type LatencyStats,
  type LoadResult,
  sequential,
  startPlatform,
  stats,
} from './lib';

const TEXT = 'The service was quick and the staff were lovely, though the coffee was not great.';

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * The benchmark measures the gateway with every check on, but must not be refused by them: an
 * operator's override lifts the demo tenant's limits before its first request.
 */
async function liftLimits(endpoint: string, tenantId: string): Promise<void> {
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

/**
 * The gateway's added latency over calling the model runtime directly (same payload, same
 * client, interleaved so drift hits both sides), and the load it sustains with every check on.
 */
export async function benchGateway(opts: { quick: boolean }): Promise<string> {
  const p = await startPlatform();
  const lines: string[] = [];
  try {
    await liftLimits(p.dynamoUrl, p.tenantId);
    const direct = () =>
      http(`${p.runtimeUrl}/endpoints/tollgate-bench-sentiment/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amzn-sagemaker-target-variant': 'v1' },
        body: JSON.stringify({ inputs: [TEXT] }),
      }).then((r) => r.status === 200);
    const gateway = () =>
      http(`${p.url}/v1/text/sentiment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${p.key}` },
        body: JSON.stringify({ model: 'sentiment', input: TEXT }),
      }).then((r) => r.status === 200);

    // One request at a time, interleaved in blocks.
    const blocks = opts.quick ? 3 : 10;
    const perBlock = 100;
    const d: number[] = [];
    const g: number[] = [];
    await sequential(50, 0, direct);
    await sequential(50, 0, gateway);
    for (let b = 0; b < blocks; b++) {
      for (const [call, into] of [
        [direct, d],
        [gateway, g],
      ] as const) {
        for (let i = 0; i < perBlock; i++) {
          const t = performance.now();
          if (!(await call())) throw new Error('call failed');
          into.push(performance.now() - t);
        }
      }
    }
    const sd = stats(d);
    const sg = stats(g);
    lines.push(
      '### Added latency, one request at a time (`POST /v1/text/sentiment`, one short text; quotas and metering on)',
      '',
    );
    lines.push('| path | n | p50 ms | p90 ms | p99 ms |', '|---|---:|---:|---:|---:|');
    const row = (name: string, s: LatencyStats) =>
      `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} |`;
    lines.push(row('model runtime, direct', sd), row('through the gateway', sg));
    lines.push(
      `| **added by the gateway** | | **${fmt(sg.p50 - sd.p50)}** | ${fmt(sg.p90 - sd.p90)} | **${fmt(sg.p99 - sd.p99)}** |`,
      '',
      'The added latency is with every limit and the meter on: per request the gateway admits from its quota ' +
        'lease in memory (a refill, 1 TransactWrite + 1 BatchGet, every N requests in the background) and ' +
        'settles with the usage event, every aggregate and the lease (1 TransactWrite, group-committed under ' +
        'load) after the model call; key, tenant, catalog and plans come from memory. The store rows below ' +
        'measure a single reservation and its settlement, the path near a limit.',
      '',
    );

    // Under load: closed loops at rising concurrency, gateway beside direct.
    const seconds = opts.quick ? 3 : 8;
    const levels = opts.quick ? [1, 16] : [1, 8, 32, 64];
    lines.push(`### Under load (closed loop, ${seconds} s per row)`, '');
    lines.push(
      '| path | concurrency | req/s | p50 ms | p99 ms | errors | API RSS MB (max) |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    const loadRow = (name: string, r: LoadResult, rss: string) =>
      `| ${name} | ${r.concurrency} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${rss} |`;
    for (const c of levels) {
      lines.push(loadRow('direct', await closedLoop(c, seconds, direct), ''));
      let maxRss = rssMb(p.child.pid!);
      const timer = setInterval(() => {
        maxRss = Math.max(maxRss, rssMb(p.child.pid!));
      }, 200);
      const r = await closedLoop(c, seconds, gateway);
      clearInterval(timer);
      lines.push(loadRow('gateway', r, maxRss.toFixed(0)));
    }
    lines.push('');

    // The store's own ceiling for the writes the gateway makes per request: reserve, then settle.
    const { doc, client } = createDynamo({ region: 'us-east-1', endpoint: p.dynamoUrl });
    const quotas = new QuotaStore(doc, 'tollgate-bench-main', 'tollgate-bench-usage');
    // Limits like the demo tenant's (enterprise): every counter is touched, none refuses.
    const limits = effectiveLimits(defaultPlans.find((x) => x.id === 'enterprise')!, {
      tenantOverrides: { requestsPerMinute: 1e9, tokensPerMinute: 1e12, maxConcurrent: 1e6 },
    });
    // Tenants of their own per loop: one tenant's counters are hot items by design; this is the store's ceiling.
    const tenants = Array.from({ length: 64 }, () => newId('ten'));
    let next = 0;
    const reserveAndSettle = async () => {
      const tenantId = tenants[next++ % tenants.length]!;
      const requestId = newId('req');
      const r = await quotas.reserve({
        tenantId,
        keyId: 'key_bench',
        requestId,
        now: new Date(),
        limits,
        tokens: 20,
        units: { input_tokens: 20 },
        costNanoUsd: 2_000,
        ttlMs: 60_000,
      });
      if (!r.ok) return false;
      await quotas.settle(
        r.reservation,
        { tokens: 10, units: { input_tokens: 10 }, costNanoUsd: 1_000 },
        {
          requestId,
          tenantId,
          keyId: 'key_bench',
          model: 'sentiment',
          version: 'v1',
          units: { input_tokens: 10 },
          costNanoUsd: 1000,
          priceBook: 'bench',
          latencyMs: 1,
          status: 'succeeded',
          at: new Date().toISOString(),
        },
      );
      return true;
    };
    lines.push(
      '### The store alone (DynamoDB Local, in memory): the reservation and the settlement each request makes',
      '',
    );
    lines.push(
      '| operation | concurrency | pairs/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const c of opts.quick ? [1, 16] : [1, 32]) {
      const r = await closedLoop(c, seconds, reserveAndSettle);
      lines.push(
        `| reserve + settle (2 TransactWrites) | ${c} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} |`,
      );
    }
    client.destroy();
    lines.push('');
  } finally {
    await p.stop();
  }
  return lines.join('\n');
}
