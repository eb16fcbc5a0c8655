import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedDynamo } from '../local/dynamodb';
import { startRuntimeProcess } from '../local/runtime/launcher';
import { liftLimits, sentimentCalls } from './gateway';
import { bundleApiEntry, closedLoop, type LoadResult, startBundledApi } from './lib';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from: a package name, the repo's own file, or node's internals. */
function origin(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  if (url === '') return '(native/vm)';
  const repo = /\/(shared|functions|local|bench)\/.*$/.exec(url);
  return repo ? repo[0].slice(1) : url;
}

/** The part of the stack a frame belongs to, for the summary. */
function group(fn: string, o: string): string {
  if (fn === 'writev') return 'socket writes (writev; on 2 cores this includes the receiver running)';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (o.startsWith('@aws-sdk/') || o.startsWith('@smithy/')) return 'AWS SDK (DynamoDB + SageMaker clients)';
  if (
    /^node:(_http|net|internal\/(streams|stream_base|webstreams|deps\/undici)|events|buffer|timers)/.test(o)
  )
    return 'node http, streams, sockets';
  if (o === 'hono' || o.startsWith('@hono/')) return 'hono, @hono/node-server, zod-openapi glue';
  if (o === 'zod' || o.startsWith('@asteasolutions/')) return 'zod validation';
  if (/^(pino|sonic-boom|thread-stream|@pinojs|safe-stable-stringify)/.test(o)) return 'logging (pino)';
  if (/^(shared|functions|local)\//.test(o)) return 'Tollgate code (shared/, functions/, local/)';
  if (o.startsWith('node:internal/crypto')) return 'hashing (SigV4, API key)';
  return 'other (V8, microtasks, node internals)';
}

/** Self time per part of the stack and per function, as shares of the busy (non-idle) samples. */
export function summarise(profile: CpuProfile, lastMs: number, top = 20): string {
  // Only the samples of the last `lastMs` (the load), not the start-up before it.
  const at: number[] = [];
  let t = 0;
  for (const d of profile.timeDeltas) {
    t += d;
    at.push(t);
  }
  const from = t - lastMs * 1000;
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    if (at[i]! < from) continue;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFn = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const n of profile.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0) continue;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idle += t;
      continue;
    }
    busy += t;
    const o = origin(f.url);
    const key = `${f.functionName || '(anonymous)'} ${o}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const g = group(f.functionName, o);
    byGroup.set(g, (byGroup.get(g) ?? 0) + t);
  }
  const table = (m: Map<string, number>, n: number, code: boolean) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `| ${((100 * t) / busy).toFixed(1)}% | ${code ? `\`${k}\`` : k} |`);
  return [
    `The process was busy ${((100 * busy) / (busy + idle)).toFixed(0)}% of the time; shares below are of the busy time.`,
    '',
    '| self | part |',
    '|---:|---|',
    ...table(byGroup, 20, false),
    '',
    '| self | function |',
    '|---:|---|',
    ...table(byFn, top, true),
  ].join('\n');
}

/**
 * `npm run bench -- --profile`: the API process under `--cpu-prof` while the bench's load generator
 * drives POST /v1/text/sentiment, then where its CPU time went. Profiles the whole path (auth,
 * limits, routing, metering) exactly as the gateway bench runs it.
 */
export async function profileGateway(opts: { seconds: number; concurrency: number }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-prof-'));
  try {
    let r: LoadResult | undefined;
    const dynamo = await startEmbeddedDynamo({ dataDir: null });
    const runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: 'bench' } });
    const bundle = await bundleApiEntry();
    try {
      const p = await startBundledApi(bundle.file, { dynamo: dynamo.endpoint, runtime: runtime.url }, [
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        '--cpu-prof-interval=250',
      ]);
      try {
        await liftLimits(dynamo.endpoint, p.tenantId);
        const { gateway } = sentimentCalls(p);
        await closedLoop(opts.concurrency, 2, gateway);
        r = await closedLoop(opts.concurrency, opts.seconds, gateway);
      } finally {
        await p.stop();
      }
    } finally {
      bundle.dispose();
      await runtime.stop();
      await dynamo.stop();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    const biggest = files
      .map((f) => ({ f, size: readFileSync(join(dir, f)).length }))
      .sort((a, b) => b.size - a.size)[0];
    if (!biggest) throw new Error('no profile was written');
    const profile = JSON.parse(readFileSync(join(dir, biggest.f), 'utf8')) as CpuProfile;
    return [
      `### Where the API process spends its CPU under load (\`--cpu-prof\`, c=${opts.concurrency}, ${opts.seconds} s)`,
      '',
      `${r?.n} requests at ${r?.rps.toFixed(0)} req/s (profiling slows the process). Self time of the samples taken under load:`,
      '',
      summarise(profile, opts.seconds * 1000),
      '',
    ].join('\n');
  } finally {
    if (!process.env.KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`profile kept in ${dir}\n`);
  }
}
