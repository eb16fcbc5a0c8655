/**
 * Per-model latency and throughput through the whole local stack (gateway, DynamoDB Local metering,
 * the runtime's worker threads): `npx tsx bench/models.ts [--models list] [--requests N]
 * [--concurrency C] [--json file]`. For each version: sequential latency (p50/p95/max end to end,
 * and the model call alone as the gateway recorded it in the usage event), then throughput with C
 * callers in parallel (images or requests per second). Bounded: N sequential + 4N parallel calls
 * per version, all to loopback.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createStores } from '../functions/api/wiring/deps';
import { startLocalStack } from '../local/stack';
import { issueApiKey } from '../shared/auth/issue-api-key';
import { loadConfig } from '../shared/config';
import { newId } from '../shared/ids';
import { createLogger } from '../shared/logger';

export interface ModelBenchResult {
  model: string;
  path: string;
  sequential: { n: number; p50Ms: number; p95Ms: number; maxMs: number; modelP50Ms: number };
  parallel: { n: number; concurrency: number; perSecond: number; busy: number; failed: number };
}

export interface ModelBenchOptions {
  /** RUNTIME_MODELS syntax; default every version. */
  models?: string;
  requests?: number;
  concurrency?: number;
  log?: (line: string) => void;
}

const TARGETS = [
  { model: 'sentiment@v1', path: '/v1/text/sentiment', input: 'text' },
  { model: 'embeddings@wink-100d', path: '/v1/embeddings', input: 'text' },
  { model: 'image-moderation@mobilenet-v2', path: '/v1/images/moderations', input: 'photo' },
  { model: 'image-moderation@mobilenet-v2-mid', path: '/v1/images/moderations', input: 'photo' },
  { model: 'image-moderation@inception-v3', path: '/v1/images/moderations', input: 'photo' },
  { model: 'ocr@ppocr-v4', path: '/v1/images/ocr', input: 'text-image' },
  { model: 'ocr@tesseract-5', path: '/v1/images/ocr', input: 'text-image' },
] as const;

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const round = (n: number) => Math.round(n * 10) / 10;

async function inputs() {
  const photo = await sharp(
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#6aa6e0"/>' +
        '<circle cx="520" cy="90" r="45" fill="#ffd34d"/><path d="M0 330 Q160 240 320 320 T640 300 V480 H0 Z" fill="#3f8f3a"/></svg>',
    ),
  )
    .jpeg()
    .toBuffer();
  const textImage = await sharp(
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="200"><rect width="100%" height="100%" fill="white"/>' +
        '<text x="40" y="120" font-family="DejaVu Sans" font-size="64" fill="black">HELLO WORLD 42</text></svg>',
    ),
  )
    .png()
    .toBuffer();
  return {
    text: 'The service was quick and friendly, but the delivery was late and the box was damaged.',
    photo: photo.toString('base64'),
    'text-image': textImage.toString('base64'),
  };
}

/** Runs the benchmark against a fresh in-memory stack; the caller prints or stores the results. */
export async function runModelsBench(options: ModelBenchOptions = {}): Promise<ModelBenchResult[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const requests = options.requests ?? 30;
  const concurrency = options.concurrency ?? 4;
  process.env.RUNTIME_MODELS = options.models ?? 'all';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent' });
  const started = performance.now();
  const stack = await startLocalStack(config, createLogger('silent'));
  const stores = createStores(stack.config);
  try {
    while (!(await fetch(`${stack.runtimeUrl}/ping`)).ok) {
      if (performance.now() - started > 180_000) throw new Error('models did not load within 180 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`stack up and every model loaded in ${Math.round(performance.now() - started)} ms`);
    const ping = (await (await fetch(`${stack.runtimeUrl}/ping`)).json()) as {
      models: Record<string, string>;
    };
    const hosted = new Set(
      Object.keys(ping.models).map((k) => k.replace(/^tollgate-local-/, '').replace('/', '@')),
    );
    const data = await inputs();
    // An enterprise tenant: the plan's rate limits must not be what the benchmark measures.
    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Bench',
      status: 'active',
      plan: 'enterprise',
      createdAt: new Date().toISOString(),
    });
    const key = (await issueApiKey(stores.apiKeys, { tenantId, name: 'bench' })).secret;
    const call = async (target: (typeof TARGETS)[number]) => {
      const body =
        target.input === 'text'
          ? { model: target.model, input: data.text }
          : { model: target.model, image: data[target.input] };
      const t0 = performance.now();
      const res = await fetch(`${stack.url}${target.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      return { status: res.status, ms: performance.now() - t0, requestId: res.headers.get('x-request-id') };
    };

    const results: ModelBenchResult[] = [];
    for (const target of TARGETS) {
      if (!hosted.has(target.model)) continue;
      for (let i = 0; i < 3; i++) await call(target); // warm-up: first inferences allocate
      const seq: number[] = [];
      const ids = new Set<string>();
      for (let i = 0; i < requests; i++) {
        const r = await call(target);
        if (r.status !== 200) throw new Error(`${target.model} answered ${r.status}`);
        seq.push(r.ms);
        if (r.requestId) ids.add(r.requestId);
      }
      const events = (await stores.usage.listEvents(tenantId)).filter((e) => ids.has(e.requestId));
      const modelMs = events.map((e) => e.latencyMs).sort((a, b) => a - b);
      seq.sort((a, b) => a - b);

      const total = requests * 4;
      let next = 0;
      let busy = 0;
      let failed = 0;
      let ok = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) {
            next++;
            const r = await call(target);
            if (r.status === 200) ok++;
            else if (r.status === 503) busy++;
            else failed++;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const result: ModelBenchResult = {
        model: target.model,
        path: target.path,
        sequential: {
          n: requests,
          p50Ms: round(quantile(seq, 0.5)),
          p95Ms: round(quantile(seq, 0.95)),
          maxMs: round(seq[seq.length - 1] ?? 0),
          modelP50Ms: round(quantile(modelMs, 0.5)),
        },
        parallel: { n: total, concurrency, perSecond: round(ok / seconds), busy, failed },
      };
      results.push(result);
      log(
        `${target.model.padEnd(34)} p50 ${String(result.sequential.p50Ms).padStart(7)} ms  p95 ${String(result.sequential.p95Ms).padStart(7)} ms  ` +
          `model p50 ${String(result.sequential.modelP50Ms).padStart(7)} ms  ${String(result.parallel.perSecond).padStart(6)} /s at ${concurrency} in flight` +
          (busy || failed ? `  (${busy} busy, ${failed} failed)` : ''),
      );
    }
    return results;
  } finally {
    stores.dynamo.client.destroy();
    await stack.stop();
  }
}

/** Markdown for `npm run bench`: one row per model version. */
export async function benchModels(opts: { quick: boolean }): Promise<string> {
  const results = await runModelsBench({ requests: opts.quick ? 8 : 30, log: () => {} });
  const rows = results.map(
    (r) =>
      `| ${r.model} | ${r.sequential.p50Ms} | ${r.sequential.p95Ms} | ${r.sequential.modelP50Ms} | ${r.parallel.perSecond} |`,
  );
  return [
    '### Models, through the gateway',
    '',
    'Sequential latency (ms) and the model call alone as the usage event records it; then answers per',
    `second with ${results[0]?.parallel.concurrency ?? 4} callers in parallel (images/s for the vision models).`,
    '',
    '| version | p50 | p95 | model p50 | per second |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const isMain =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      requests: { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '4' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npx tsx bench/models.ts [--models list] [--requests N] [--concurrency C] [--json file]\n' +
        '  Per-model latency and throughput through the whole local stack: N sequential calls (default\n' +
        '  30), then C callers in parallel (default 4); --models a subset, as RUNTIME_MODELS names\n' +
        '  them (`sentiment,ocr@tesseract-5`; default all);\n' +
        '  --json writes the results to a file instead of printing them.\n',
    );
    process.exit(0);
  }
  const results = await runModelsBench({
    ...(values.models ? { models: values.models } : {}),
    requests: Number(values.requests),
    concurrency: Number(values.concurrency),
  });
  const out = JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2);
  if (values.json) await writeFile(values.json, `${out}\n`);
  else process.stdout.write(`${out}\n`);
  process.exit(0);
}
