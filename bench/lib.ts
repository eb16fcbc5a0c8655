import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { build } from 'esbuild';

/** One keep-alive pool for every benchmark request, sized for the highest concurrency used. */
export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpResult {
  status: number;
  body: string;
}

/** A plain node:http POST/GET: the cheapest client, so client cost is the same on both sides. */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencyStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function stats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** Sequential calls (one at a time), after a warm-up: the latency one request sees on a quiet system. */
export async function sequential(
  n: number,
  warmup: number,
  call: () => Promise<boolean>,
): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (!(await call())) throw new Error('a benchmark call failed');
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

export interface LoadResult extends LatencyStats {
  rps: number;
  errors: number;
  concurrency: number;
  seconds: number;
}

/** `concurrency` callers in a closed loop for `seconds` (bounded in count too): throughput and latency under load. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  call: () => Promise<boolean>,
  maxRequests = 200_000,
): Promise<LoadResult> {
  const samples: number[] = [];
  let errors = 0;
  let issued = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && issued < maxRequests) {
        issued++;
        const t = performance.now();
        const ok = await call().catch(() => false);
        if (ok) samples.push(performance.now() - t);
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { ...stats(samples), rps: samples.length / elapsed, errors, concurrency, seconds: elapsed };
}

export function machine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${process.platform}/${process.arch}`;
}

export const fmt = (ms: number) => ms.toFixed(2);

export interface Platform {
  child: ChildProcess;
  url: string;
  runtimeUrl: string;
  dynamoUrl: string;
  /** Null when the tables were seeded by an earlier start (the secret is shown once). */
  key: string | null;
  tenantId: string;
  stop(): Promise<void>;
}

/** Runs `npm start`'s entry as its own process and reads the URLs and the demo key it prints. */
async function launch(args: string[], env: Record<string, string>): Promise<Platform> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', STAGE: 'bench', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let started = false;
  // Read until the banner; after it the output (access logs) is drained, not kept.
  child.stdout?.on('data', (d) => {
    if (!started) out += d;
  });
  const deadline = Date.now() + 90_000;
  while (!out.includes('Try:')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`platform did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  started = true;
  const grab = (re: RegExp) => {
    const m = re.exec(out);
    if (!m?.[1]) throw new Error(`could not read ${re} from:\n${out}`);
    return m[1];
  };
  return {
    child,
    url: grab(/API\s+(http:\/\/\S+)/),
    runtimeUrl: grab(/Model runtime\s+(http:\/\/\S+)/),
    dynamoUrl: grab(/DynamoDB\s+(http:\/\/\S+)/),
    key: /Demo API key\s+(tg_live_\S+)/.exec(out)?.[1] ?? null,
    tenantId: grab(/Demo tenant\s+(ten_\S+)/),
    stop: () =>
      new Promise((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts `npm start` (under tsx, in memory: DynamoDB Local and the runtime are its children). */
export async function startPlatform(
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<Platform & { key: string }> {
  const p = await launch([...nodeArgs, '--import', 'tsx', 'local/start.ts', '--in-memory'], env);
  if (!p.key) throw new Error('the platform printed no demo key');
  return { ...p, key: p.key };
}

/**
 * `npm start`'s entry bundled with esbuild (packages left to node_modules) and run by plain node,
 * as a deployed function runs a bundle: no TypeScript loader in the process (tsx holds about
 * 50 MB and a second of start-up of its own). Written next to the entry, so paths the code
 * resolves from its own location (the console's dist folder) stay right; removed by `dispose`.
 */
export async function bundleApiEntry(): Promise<{ file: string; dispose(): void }> {
  const file = `local/.bench-api-${process.pid}.mjs`;
  await build({
    entryPoints: ['local/start.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: file,
    logLevel: 'silent',
  });
  return { file, dispose: () => rmSync(file, { force: true }) };
}

/** The bundled API against a DynamoDB and a model runtime that are already running. */
export function startBundledApi(
  file: string,
  endpoints: { dynamo: string; runtime: string },
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Platform> {
  return launch([...nodeArgs, file, '--in-memory'], {
    DYNAMODB_ENDPOINT: endpoints.dynamo,
    SAGEMAKER_ENDPOINT: endpoints.runtime,
    // As deployed: one access-log line per request is part of the path measured.
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of a process and all its descendants (DynamoDB Local's JVM runs under a watchdog shell). */
export function cpuSecondsTree(pid: number): number {
  let total = 0;
  try {
    total = cpuSeconds(pid);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += cpuSecondsTree(Number(child));
    }
  } catch {
    // A process that exited in between counts for nothing.
  }
  return total;
}

/** Resident memory of a process in MB, from /proc (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * An HTTP pass-through to `target` that answers each request `delayMs` after the target did: the
 * same model, with the latency of a remote GPU endpoint (network, queue, a larger model's compute)
 * added. Used to show what the gateway adds when its write can overlap the model call.
 */
export async function delayProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = { ...req.headers };
      delete headers.host;
      const up = request(`${target}${req.url ?? '/'}`, { method: req.method, headers, agent }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () =>
          setTimeout(() => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          }, delayMs),
        );
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the delay proxy did not listen');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
