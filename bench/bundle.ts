import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The API Lambda's bundle, built as the CDK stack builds it, its size, and the work done at import (cold start). */
export async function benchBundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    await build({
      entryPoints: ['functions/api/lambda.ts'],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      outfile,
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    const bytes = statSync(outfile).size;
    const runs = 5;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const t=performance.now(); await import(${JSON.stringify(outfile)}); console.log(performance.now()-t)`,
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
      if (r.status !== 0) throw new Error(`bundle import failed: ${r.stderr}`);
      times.push(Number(r.stdout.trim()));
    }
    times.sort((a, b) => a - b);
    return [
      '### API Lambda bundle',
      '',
      '| bundle | size (minified) | import at cold start, median of 5 |',
      '|---|---:|---:|',
      `| functions/api/lambda.ts | ${(bytes / 1024).toFixed(0)} KB | ${times[2]!.toFixed(0)} ms |`,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
