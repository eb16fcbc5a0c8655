import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';

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

/** Starts `npm start`'s entry as its own process (in memory) and reads the URLs and the demo key it prints. */
export async function startPlatform(env: Record<string, string> = {}): Promise<{
  child: ChildProcess;
  url: string;
  runtimeUrl: string;
  dynamoUrl: string;
  key: string;
  tenantId: string;
  stop(): Promise<void>;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--in-memory'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', STAGE: 'bench', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 90_000;
  while (!out.includes('Try:')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`platform did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
    key: grab(/Demo API key\s+(tg_live_\S+)/),
    tenantId: grab(/Demo tenant\s+(ten_\S+)/),
    stop: () =>
      new Promise((res) => {
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}
