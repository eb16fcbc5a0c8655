import { startEmbeddedDynamo } from '../local/dynamodb';
import { startRuntimeProcess } from '../local/runtime/launcher';
import { ApiKeyStore } from '../shared/auth/api-key-store';
import { issueApiKey } from '../shared/auth/issue-api-key';
import { createDynamo } from '../shared/db/client';
import { tableName } from '../shared/db/tables';
import { type MeteredCall, startDynamoMeter } from './dynamo-meter';
import { bundleApiEntry, http, startBundledApi } from './lib';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** How often the metered API flushes its in-memory counts (model health, refusal counts). */
const FLUSH_MS = 1_000;

const sentimentBody = JSON.stringify({ model: 'sentiment', input: 'refuse me' });

/**
 * What a refusal costs the store, counted on the wire: a key limited to one request a minute is
 * hammered `n` times by an API process whose DynamoDB is reached through the meter (dynamo-meter.ts).
 * The key's first call is served and its first refusal (the request log's first-of-bucket write)
 * lands before the window; the window holds the `n` refusals that follow and a flush after them.
 * Every write that crosses the wire in it is counted, the API's background work included.
 */
export async function benchRefusals(opts: { quick: boolean }): Promise<string> {
  const n = opts.quick ? 300 : 2_000;
  const dynamo = await startEmbeddedDynamo({ dataDir: null });
  const runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: 'bench' } }).catch(async (err) => {
    await dynamo.stop();
    throw err;
  });
  const bundle = await bundleApiEntry();
  const db = await startDynamoMeter(dynamo.endpoint);
  try {
    const endpoints = { dynamo: dynamo.endpoint, runtime: runtime.url };
    // A first API process seeds the tables and the demo tenant.
    const seeded = await startBundledApi(bundle.file, endpoints);
    const tenantId = seeded.tenantId;
    await seeded.stop();
    const { doc, client } = createDynamo({ region: 'us-east-1', endpoint: dynamo.endpoint });
    const narrow = await issueApiKey(new ApiKeyStore(doc, tableName('bench', 'main')), {
      tenantId,
      name: 'bench narrow',
      limits: { requestsPerMinute: 1 },
    });
    client.destroy();
    const api = await startBundledApi(bundle.file, { dynamo: db.url, runtime: runtime.url }, [], {
      HEALTH_FLUSH_MS: String(FLUSH_MS),
      USAGE_CONSUMER: 'false',
      BATCH_WORKER: 'false',
      LOG_LEVEL: 'warn',
    });
    try {
      const call = () =>
        http(`${api.url}/v1/text/sentiment`, {
          method: 'POST',
          headers: { authorization: `Bearer ${narrow.secret}`, 'content-type': 'application/json' },
          body: sentimentBody,
        });
      // The whole run inside one UTC minute: one bucket, and the key's one request used up.
      while (Date.now() % 60_000 > 30_000) await new Promise((r) => setTimeout(r, 200));
      const served = await call();
      const first = await call();
      if (served.status !== 200 || first.status !== 429) {
        throw new Error(`expected 200 then 429, got ${served.status} then ${first.status}`);
      }
      await new Promise((r) => setTimeout(r, FLUSH_MS + 500));
      db.reset();
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        const r = await call();
        if (r.status !== 429) throw new Error(`refusal ${i} answered ${r.status}`);
      }
      const refusingMs = performance.now() - started;
      // One more flush interval, so the refusals' summed count is written inside the window.
      await new Promise((r) => setTimeout(r, FLUSH_MS + 1_000));
      const calls = await db.calls();
      return refusalTable(n, refusingMs, calls);
    } finally {
      await api.stop();
    }
  } finally {
    await db.stop();
    bundle.dispose();
    await runtime.stop();
    await dynamo.stop();
  }
}

function refusalTable(n: number, refusingMs: number, calls: MeteredCall[]): string {
  const writes = calls.filter((c) => WRITES.has(c.op));
  const log = writes.filter((c) => c.partitions.some((p) => p.endsWith('#REFUSALS')));
  const byOp = new Map<string, number>();
  for (const c of writes) byOp.set(c.op, (byOp.get(c.op) ?? 0) + 1);
  const per = (x: number) => (x / n).toFixed(4);
  const units = writes.reduce((s, c) => s + c.writeUnits, 0);
  return [
    '### Store writes per refusal (counted on the wire)',
    '',
    `A key limited to 1 request a minute, hammered with ${n} sequential calls after its one served call and its first refusal (${(refusingMs / n).toFixed(2)} ms each); every DynamoDB write the API process sent in the window (the refusals, then one flush interval of ${FLUSH_MS} ms) counts.`,
    '',
    '| what | writes in the window | per refusal |',
    '| --- | ---: | ---: |',
    `| every write (${[...byOp].map(([op, k]) => `${op} ${k}`).join(', ') || 'none'}) | ${writes.length} | ${per(writes.length)} |`,
    `| request log: refusal count items (\`TENANT#<tenant>#REFUSALS\`) | ${log.length} | ${per(log.length)} |`,
    `| write capacity units | ${units.toFixed(1)} | ${per(units)} |`,
    '',
    'The request log writes the first refusal of each (key, reason, minute) once per instance at once, in the background, and the rest as one `ADD` per flush: its writes do not grow with the number of refusals.',
    '',
  ].join('\n');
}
