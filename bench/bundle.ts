import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lambdaBuildOptions } from '../infra/bundling';

/** Every deployed function, by the entry the CDK stacks give it (the API: one per plane, shared/api-planes.ts). */
export const FUNCTIONS = [
  { name: 'api-data', entry: 'functions/api/lambda/data.ts' },
  { name: 'api-stream', entry: 'functions/api/lambda/data-stream.ts' },
  { name: 'api-console', entry: 'functions/api/lambda/console.ts' },
  { name: 'api-billing', entry: 'functions/api/lambda/billing.ts' },
  { name: 'api-docs', entry: 'functions/api/lambda/docs.ts' },
  { name: 'jobs: reservation sweeper', entry: 'functions/jobs/sweep-reservations-lambda.ts' },
  { name: 'jobs: billing sync', entry: 'functions/jobs/billing-sync-lambda.ts' },
] as const;

/** Module evaluation at cold start: a fresh node importing the bundle, median of `runs`. */
function importMs(file: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        // The Lambda runtime's global that response-streaming handlers are wrapped with.
        `globalThis.awslambda={streamifyResponse:(h)=>h,HttpResponseStream:{from:(s)=>s}};const t=performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now()-t)`,
      ],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          STAGE: 'bench',
          AWS_REGION: 'us-east-1',
          LOG_LEVEL: 'silent',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    if (r.status !== 0) throw new Error(`bundle import failed: ${r.stderr.slice(-600)}`);
    times.push(Number(r.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

/** Bytes in the output per package (or repo folder), largest first. */
function heaviest(inputs: Record<string, { bytesInOutput: number }>, n: number): string {
  const by = new Map<string, number>();
  for (const [path, i] of Object.entries(inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const k = m?.[1] ?? path.split('/').slice(0, 2).join('/');
    by.set(k, (by.get(k) ?? 0) + i.bytesInOutput);
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(0)}`)
    .join(', ');
}

/** Each function's bundle, built as the CDK stacks build it: size, heaviest parts, import time at cold start. */
export async function benchBundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
  try {
    const lines = [
      '### Lambda bundles (esbuild as the CDK stacks run it: ESM, minified, the AWS SDK bundled)',
      '',
      '| function | size (minified) | import at cold start, median of 5 | largest parts, KB |',
      '|---|---:|---:|---|',
    ];
    for (const [i, f] of FUNCTIONS.entries()) {
      const outfile = join(dir, `f${i}.mjs`);
      const r = await build(lambdaBuildOptions(f.entry, outfile));
      const out = Object.values(r.metafile?.outputs ?? {}).find((o) => o.entryPoint);
      const bytes = out?.bytes ?? 0;
      lines.push(
        `| ${f.name} (\`${f.entry}\`) | ${(bytes / 1024).toFixed(0)} KB (${bytes.toLocaleString('en-US')} bytes) | ${importMs(outfile, 5).toFixed(0)} ms | ${heaviest(out?.inputs ?? {}, 5)} |`,
      );
    }
    // What the data plane would weigh taking the SDK from the Lambda runtime instead (not what deploys).
    const sdkFromRuntime = await build({
      ...lambdaBuildOptions(FUNCTIONS[0].entry, join(dir, 'api-runtime-sdk.mjs')),
      external: ['@aws-sdk/*', '@smithy/*'],
    });
    const apiWithout =
      Object.values(sdkFromRuntime.metafile?.outputs ?? {}).find((o) => o.entryPoint)?.bytes ?? 0;
    lines.push(
      '',
      `Sizes in KB of 1024 bytes; test/infra/bundle.test.ts holds every API function under 1,000,000 bytes. For comparison, the data plane's bundle with the AWS SDK left to the Lambda runtime's copy (not what deploys: the stacks pin the SDK they test against): ${(apiWithout / 1024).toFixed(0)} KB.`,
      '',
    );
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
