import { PRICE_PER_MILLION } from './capacity';
import { type MeteredCall, startDynamoMeter } from './dynamo-meter';
import { startBundledApi } from './lib';
import { startWireCounter } from './wire-counter';

/** What a served request costs the store and the model, counted on the wire over a time window. */
export interface RoundTrips {
  /** Requests served in the window (every one a 200). */
  n: number;
  seconds: number;
  /** The window is one whole UTC minute (else it lies inside one, away from the minute's turn). */
  wholeMinute: boolean;
  /** Every DynamoDB call that crossed the wire in the window, the API's background work included. */
  calls: MeteredCall[];
  model: number;
  tenantId: string;
}

/**
 * Sequential requests through a second API process whose DynamoDB and model runtime are reached
 * through meters, for `seconds` after a warm-up: caches filled, leases held, background timers
 * running. Counting by time, not by requests, keeps the API's background work (flushes, sweeps,
 * a stream consumer's batches) in its steady-state proportion. The window never spans a minute's
 * turn unless it is exactly one UTC minute long (then it holds exactly one), so per-minute items
 * (quota windows, leases) are neither split between two windows nor counted twice.
 */
export async function roundTrips(
  file: string,
  endpoints: { dynamo: string; runtime: string },
  account: { key: string; tenantId: string },
  call: (url: string, key: string) => Promise<boolean>,
  seconds: number,
): Promise<RoundTrips> {
  const db = await startDynamoMeter(endpoints.dynamo);
  const rt = await startWireCounter(endpoints.runtime, /POST \/endpoints\/\S+\/(invocations)/);
  const api = await startBundledApi(file, { dynamo: db.url, runtime: rt.url });
  try {
    const gateway = () => call(api.url, account.key);
    const served = async () => {
      if (!(await gateway())) throw new Error('a benchmark call failed');
    };
    // Warm: caches (key, tenant, catalog, plans, pins) filled, the key's last-use mark written.
    for (let i = 0; i < 50; i++) await served();
    const wholeMinute = seconds >= 60;
    const windowMs = wholeMinute ? 60_000 : seconds * 1000;
    // Go on warming until the window can start: at a minute's turn, or where it ends before the next.
    for (let i = 0; i < 200_000; i++) {
      const into = Date.now() % 60_000;
      if (wholeMinute ? into < 500 : into + windowMs + 1_000 < 60_000) break;
      await served();
    }
    db.reset();
    rt.reset();
    const start = Date.now();
    let n = 0;
    while (Date.now() - start < windowMs && n < 200_000) {
      await served();
      n++;
    }
    const end = Date.now();
    const calls = (await db.calls()).filter((c) => c.at <= end);
    return {
      n,
      seconds: (end - start) / 1000,
      wholeMinute,
      calls,
      model: (rt.counts().invocations ?? 0) / n,
      tenantId: account.tenantId,
    };
  } finally {
    await api.stop();
    await db.stop();
    await rt.stop();
  }
}

const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
/** `tollgate-bench-usage TENANT#ten_x DAY#...` as `usage` `TENANT#<tenant>` `DAY#...`. */
function itemLabel(item: string, tenantId: string): string {
  const [table = '', ...key] = item.split(' ');
  const short = table.replace(/^tollgate-[^-]+-/, '');
  return [short, ...key].map((p) => `\`${p.replaceAll(tenantId, '<tenant>')}\``).join(' ');
}

/** The Markdown section: round trips, then capacity units, dollars, writes and hot items per request. */
export function roundTripTables(r: RoundTrips): string[] {
  const { n, calls } = r;
  const per = (x: number) => x / n;
  const byOp = new Map<
    string,
    { calls: number; items: number; w: number; r: number; failed: number; source: Set<string>; local: number }
  >();
  for (const c of calls) {
    const o = byOp.get(c.op) ?? { calls: 0, items: 0, w: 0, r: 0, failed: 0, source: new Set(), local: 0 };
    o.calls++;
    o.items += c.items;
    o.w += c.writeUnits;
    o.r += c.readUnits;
    if (!c.ok) o.failed++;
    o.source.add(c.source);
    o.local += c.localUnits ?? 0;
    byOp.set(c.op, o);
  }
  const ops = [...byOp.entries()].sort((a, b) => b[1].calls - a[1].calls);
  const count = (names: string[]) => names.reduce((s, op) => s + (byOp.get(op)?.calls ?? 0), 0);
  const items = (op: string) => byOp.get(op)?.items ?? 0;
  const wru = calls.reduce((s, c) => s + c.writeUnits, 0) / n;
  const rru = calls.reduce((s, c) => s + c.readUnits, 0) / n;
  const dollars = wru * PRICE_PER_MILLION.write + rru * PRICE_PER_MILLION.read;

  // Writes per item over the window; the tenant's items are those whose key names it.
  const writes = new Map<string, number>();
  for (const c of calls) for (const w of c.writes) writes.set(w, (writes.get(w) ?? 0) + 1);
  const hottest = (filter: (item: string) => boolean) =>
    [...writes.entries()].filter(([item]) => filter(item)).sort((a, b) => b[1] - a[1])[0];
  const tenantHot = hottest((item) => item.includes(r.tenantId));
  const anyHot = hottest(() => true);
  const quotaPk = (p: string) => p.startsWith('QUOTA#');
  const quotaCalls = calls.filter((c) => c.partitions.some(quotaPk)).length;
  const quotaWrites = calls.reduce(
    (s, c) => s + c.writes.filter((w) => quotaPk(w.split(' ')[1] ?? '')).length,
    0,
  );
  const txCalls = count(['TransactWriteItems']);
  const batchCalls = count(['BatchWriteItem']);
  const failed = calls.filter((c) => !c.ok).length;
  const streamOps = ops.filter(([op]) => op.startsWith('DynamoDBStreams'));
  const total = calls.length / n;

  const window = r.wholeMinute
    ? `one whole UTC minute (${r.seconds.toFixed(1)} s)`
    : `${r.seconds.toFixed(1)} s inside one UTC minute`;
  const lines = [
    `### Round trips per request (counted on the wire over ${n} sequential requests in ${window}, caches warm)`,
    '',
    '| to | per request | operations |',
    '|---|---:|---|',
    `| DynamoDB | ${f2(total)} | ${ops.map(([op, o]) => `${op} ${f2(per(o.calls))}`).join(', ')} |`,
    `| model runtime | ${f2(r.model)} | InvokeEndpoint |`,
    '',
    'DynamoDB capacity and cost per served request, from the same calls (everything that crossed the wire ' +
      'in the window, background work of the API process included):',
    '',
    '| per request | value | target |',
    '|---|---:|---:|',
    `| write units (WRU) | ${f2(wru)} |  |`,
    `| read units (RRU) | ${f2(rru)} |  |`,
    `| **DynamoDB $ per 1M requests** (on demand: $${PRICE_PER_MILLION.write} per M WRU, $${PRICE_PER_MILLION.read} per M RRU, us-east-1) | **$${f2(dollars)}** | ≤ $1.50${dollars <= 1.5 ? '' : ' (not met)'} |`,
    `| single-item writes (PutItem, UpdateItem, DeleteItem) | ${f2(per(count(['PutItem', 'UpdateItem', 'DeleteItem'])))} |  |`,
    `| TransactWriteItems (items in each) | ${f2(per(txCalls))}${txCalls ? ` (${(items('TransactWriteItems') / txCalls).toFixed(1)})` : ''} |  |`,
    `| BatchWriteItem (items in each) | ${f2(per(batchCalls))}${batchCalls ? ` (${(items('BatchWriteItem') / batchCalls).toFixed(1)})` : ''} |  |`,
    `| quota and lease calls (reading or writing an item whose pk starts \`QUOTA#\`) | ${f2(per(quotaCalls))} |  |`,
    `| writes of \`QUOTA#\` items | ${f2(per(quotaWrites))} |  |`,
    `| share of the tenant's requests that write its hottest item${tenantHot ? ` (${itemLabel(tenantHot[0], r.tenantId)})` : ''} | **${pct(per(tenantHot?.[1] ?? 0))}** | ≤ 5%${per(tenantHot?.[1] ?? 0) <= 0.05 ? '' : ' (not met)'} |`,
    '',
    '| operation | calls per request | items per request | WRU per request | RRU per request | failed | units from |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...ops.map(
      ([op, o]) =>
        `| ${op} | ${f2(per(o.calls))} | ${f2(per(o.items))} | ${f2(per(o.w))} | ${f2(per(o.r))} | ${o.failed} | ${[...o.source].join(', ')}${o.source.has('item sizes') && o.local ? ` (DynamoDB Local reports ${f2(per(o.local))})` : ''} |`,
    ),
    '',
    'How: the second API process reaches DynamoDB Local through a metering pass-through that adds ' +
      '`"ReturnConsumedCapacity":"INDEXES"` to each request and reads `ConsumedCapacity` from the answer ' +
      '(DynamoDB Local does not check request signatures). DynamoDB Local prices single-item writes, reads, ' +
      "queries and batches by DynamoDB's rules, but under-reports transactions (several items of one kind " +
      'on one table counted as one), so TransactWriteItems and TransactGetItems are priced from the sizes ' +
      'of the items they touch, read before and after: 2 units per item per started KB (4 KB for reads), ' +
      'index writes included, a ConditionCheck as a write. A failed conditional write is charged as ' +
      `DynamoDB charges it (${failed} failed in the window). Writes are committed item writes; the hottest ` +
      `item is the tenant's item (key naming it) written most often, its count divided by the ${n} requests` +
      `${anyHot && anyHot !== tenantHot ? `; the most written item of all is ${itemLabel(anyHot[0], r.tenantId)} (${pct(per(anyHot[1]))})` : ''}.` +
      (streamOps.length
        ? ` Stream reads (${streamOps.map(([op]) => op).join(', ')}) are counted but not priced: a Lambda trigger reads a stream at no charge.`
        : '') +
      (r.wholeMinute
        ? ''
        : " The minute's turn (new per-minute counters, lease renewals) is outside this window."),
    '',
  ];
  return lines;
}
