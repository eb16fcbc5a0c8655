import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { startEmbeddedDynamo } from '../local/dynamodb';
import { startRuntimeProcess } from '../local/runtime/launcher';
import { startLocalS3 } from '../local/s3';
import { liftLimits, sentimentCalls } from './gateway';
import {
  bundleApiEntry,
  fmt,
  http,
  type LatencyStats,
  type Platform,
  sequential,
  startBundledApi,
  stats,
} from './lib';

const TEXTS = [
  'The delivery was late and the box was damaged.',
  'Lovely staff, quick service, I will come back.',
  'It works, nothing more to say about it.',
  'Not what I ordered, and nobody answered my emails.',
];

type BatchView = {
  id: string;
  status: string;
  request_counts: { total: number; completed: number; failed: number };
};

/** A batch input file of `lines` sentiment requests, as OpenAI's Batch API has it (JSONL). */
function inputFile(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(
      JSON.stringify({
        custom_id: `line-${i}`,
        method: 'POST',
        url: '/v1/text/sentiment',
        body: { model: 'sentiment', input: TEXTS[i % TEXTS.length] },
      }),
    );
  }
  return `${out.join('\n')}\n`;
}

/** `POST /v1/files` (multipart, purpose `batch`) then `POST /v1/batches`: the batch as created. */
async function createBatch(p: Api, lines: number): Promise<BatchView> {
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', new Blob([inputFile(lines)], { type: 'application/jsonl' }), 'bench.jsonl');
  const auth = { authorization: `Bearer ${p.key}` };
  const file = await fetch(`${p.url}/v1/files`, { method: 'POST', headers: auth, body: form });
  if (file.status !== 200) throw new Error(`POST /v1/files answered ${file.status}: ${await file.text()}`);
  const { id } = (await file.json()) as { id: string };
  const batch = await http(`${p.url}/v1/batches`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: id, endpoint: '/v1/text/sentiment', completion_window: '24h' }),
  });
  if (batch.status !== 200) throw new Error(`POST /v1/batches answered ${batch.status}: ${batch.body}`);
  return JSON.parse(batch.body) as BatchView;
}

async function batchNow(p: Api, id: string): Promise<BatchView> {
  const r = await http(`${p.url}/v1/batches/${id}`, { headers: { authorization: `Bearer ${p.key}` } });
  if (r.status !== 200) throw new Error(`GET /v1/batches/${id} answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as BatchView;
}

type Api = Pick<Platform, 'url'> & { key: string };

/** `npm run batch:worker` as a process of its own (the worker function's stand-in), against these endpoints. */
async function startWorker(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/batch-worker.ts'], {
    env: { ...process.env, STAGE: 'bench', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const done = (b: BatchView) => b.request_counts.completed + b.request_counts.failed;
const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/**
 * Online added latency at one request at a time, with and without a large batch running: the same
 * sequential sentiment request, to the model runtime directly and through the gateway (interleaved
 * in blocks, as the gateway section measures it), first with nothing else running, then while a
 * batch of `lines` sentiment lines (the same model version, so the same runtime queue) is being
 * worked by the platform's batch worker. Samples taken once the batch has finished are dropped.
 */
export async function benchBatch(opts: { quick: boolean; lines?: number }): Promise<string> {
  const lines = opts.lines ?? (opts.quick ? 2_000 : 5_000);
  const perBlock = opts.quick ? 50 : 100;
  const blocks = opts.quick ? 3 : 6;
  const dynamo = await startEmbeddedDynamo({ dataDir: null });
  const stopping: (() => Promise<unknown>)[] = [() => dynamo.stop()];
  try {
    const runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: 'bench' } });
    stopping.unshift(() => runtime.stop());
    const s3 = await startLocalS3({ dir: null });
    stopping.unshift(() => s3.stop());
    const bundle = await bundleApiEntry();
    stopping.unshift(async () => bundle.dispose());
    // As in AWS: the API, and the batch worker as a process of its own (the worker function); the
    // usage consumer is off, as in the gateway section (a function of its own in AWS).
    const env = { S3_ENDPOINT: s3.endpoint, USAGE_CONSUMER: '0', BATCH_WORKER: '0' };
    const endpoints = { dynamo: dynamo.endpoint, runtime: runtime.url };
    // A first API process seeds the tables and prints the demo key; the measured one starts after
    // the limits are lifted, so it never caches the demo tenant's own.
    const seeding = await startBundledApi(bundle.file, endpoints, [], env);
    await seeding.stop();
    if (!seeding.key) throw new Error('the API printed no demo key');
    await liftLimits(dynamo.endpoint, seeding.tenantId);
    const api = await startBundledApi(bundle.file, endpoints, [], env);
    stopping.unshift(() => api.stop());
    const p = { ...api, key: seeding.key };
    const worker = await startWorker({
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SAGEMAKER_ENDPOINT: runtime.url,
      S3_ENDPOINT: s3.endpoint,
    });
    stopping.unshift(() => worker.stop());
    const { direct, gateway } = sentimentCalls(p);
    await sequential(50, 0, direct);
    await sequential(50, 0, gateway);

    /** Interleaved blocks of direct and gateway calls, for as long as `keepGoing` says. */
    const measure = async (keepGoing: () => Promise<boolean>) => {
      const d: number[] = [];
      const g: number[] = [];
      for (let b = 0; b < blocks && (await keepGoing()); b++) {
        for (const [call, into] of [
          [direct, d],
          [gateway, g],
        ] as const) {
          for (let i = 0; i < perBlock; i++) {
            const t = performance.now();
            if (!(await call())) throw new Error('an online call failed');
            into.push(performance.now() - t);
          }
        }
      }
      return { direct: stats(d), gateway: stats(g) };
    };

    const load = (): string => loadavg()[0]!.toFixed(1);
    const quietLoad = load();
    const quiet = await measure(async () => true);

    const created = await createBatch(p, lines);
    // Wait for the worker to start on it, so every sample below is taken while lines are worked.
    const startedBy = performance.now() + 60_000;
    let now = created;
    while (done(now) === 0 && !FINAL.has(now.status)) {
      if (performance.now() > startedBy)
        throw new Error(`the batch did not start within 60 s (${now.status})`);
      await new Promise((r) => setTimeout(r, 100));
      now = await batchNow(p, created.id);
    }
    const windowStart = { at: performance.now(), done: done(now) };
    let running = true;
    const busyLoad = load();
    const underBatch = await measure(async () => {
      // Checked between blocks: a block that ran past the batch's end is kept (it is mostly under
      // it), the next is not started.
      now = await batchNow(p, created.id);
      running = !FINAL.has(now.status);
      return running;
    });
    if (underBatch.gateway.n === 0) {
      throw new Error(
        `the batch of ${lines} lines finished before a block ran: give it more (--batch-lines)`,
      );
    }
    now = await batchNow(p, created.id);
    const windowEnd = { at: performance.now(), done: done(now) };
    const linesPerSecond = ((windowEnd.done - windowStart.done) * 1000) / (windowEnd.at - windowStart.at);
    // Nothing reads the rest of the batch: cancelled, so the worker stops before the processes do.
    if (!FINAL.has(now.status)) {
      await http(`${p.url}/v1/batches/${created.id}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.key}` },
      });
    }

    const row = (name: string, s: { direct: LatencyStats; gateway: LatencyStats }, extra: string) =>
      `| ${name} | ${s.gateway.n} | ${fmt(s.direct.p50)} | ${fmt(s.gateway.p50)} | ${fmt(s.gateway.p90)} | ${fmt(s.gateway.p99)} | **${fmt(s.gateway.p50 - s.direct.p50)}** | ${fmt(s.gateway.p99 - s.direct.p99)} | ${extra} |`;
    return [
      '### Online latency with and without a large batch running (`POST /v1/text/sentiment`, one request at a time)',
      '',
      `The same sequential request, to the model runtime directly and through the gateway (blocks of ${perBlock}, ` +
        `interleaved), first with nothing else running, then while a batch of ${lines.toLocaleString('en-US')} ` +
        'sentiment lines (the same model version: the same runtime queue) is worked by the batch worker ' +
        '(`POST /v1/files`, `POST /v1/batches`). The runtime serves online calls before batch ones and runs ' +
        'one batch call at a time per version; the batch worker, DynamoDB Local and S3 still share the cores. ' +
        'Added = through the gateway minus direct.',
      '',
      '| | n | direct p50 ms | gateway p50 ms | gateway p90 ms | gateway p99 ms | added p50 ms | added p99 ms | batch lines/s |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      row(`no batch (load average ${quietLoad})`, quiet, '0'),
      row(
        `while the batch runs (load average ${busyLoad})`,
        underBatch,
        `${linesPerSecond.toFixed(0)}${running ? '' : ' (it finished during the run)'}`,
      ),
      `| **the batch's effect** | | ${fmt(underBatch.direct.p50 - quiet.direct.p50)} | **${fmt(underBatch.gateway.p50 - quiet.gateway.p50)}** | ${fmt(underBatch.gateway.p90 - quiet.gateway.p90)} | **${fmt(underBatch.gateway.p99 - quiet.gateway.p99)}** | ${fmt(underBatch.gateway.p50 - underBatch.direct.p50 - (quiet.gateway.p50 - quiet.direct.p50))} | ${fmt(underBatch.gateway.p99 - underBatch.direct.p99 - (quiet.gateway.p99 - quiet.direct.p99))} | |`,
      '',
      `Batch ${now.status} at the end of the run: ${done(now).toLocaleString('en-US')} of ${lines.toLocaleString('en-US')} lines done.`,
      '',
    ].join('\n');
  } finally {
    for (const stop of stopping) await stop().catch(() => {});
  }
}
