import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/paths';
import { apiFunctions, esmRequireBanner } from '../../infra/stacks/api-stack';
import { tableName } from '../../shared/db/tables';

const run = promisify(execFile);

interface FunctionResource {
  Type: string;
  Metadata: Record<string, string>;
  Properties: { FunctionName?: string; Environment: { Variables: Record<string, unknown> } };
}
const outdirs: string[] = [];

/** The real CLI path (cdk.json -> tsx infra/app.ts), offline: no version check, no lookups, no Docker. */
async function synth(...args: string[]) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'tollgate-synth-'));
  outdirs.push(outdir);
  const result = await run('npx', ['cdk', 'synth', '--quiet', '-o', outdir, ...args], {
    cwd: repoRoot,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
  return { ...result, outdir };
}

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('cdk synth (CLI, offline)', () => {
  it('synthesizes the dev stacks and bundles every API function with local esbuild', {
    timeout: 180_000,
  }, async () => {
    // models=true: the Models stack too; nag=true: cdk-nag runs as a validation plugin, and any
    // unacknowledged finding would fail this synth.
    const { code, stderr, outdir } = await synth('-c', 'models=true', '-c', 'nag=true');
    expect(code, stderr).toBe(0);

    for (const name of [
      'Tollgate-Dev-Data',
      'Tollgate-Dev-Api',
      'Tollgate-Dev-Models',
      'Tollgate-Dev-Observability',
      'Tollgate-Dev-Jobs',
      'Tollgate-Dev-Console',
    ]) {
      expect(existsSync(path.join(outdir, `${name}.template.json`)), name).toBe(true);
    }

    // Every API function (one per plane, and the streaming twin) is bundled: ESM with the
    // require banner, a source map, and it parses under node.
    const template = JSON.parse(readFileSync(path.join(outdir, 'Tollgate-Dev-Api.template.json'), 'utf8'));
    const lambdaEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
      TABLE_MAIN: tableName('dev', 'main'),
      TABLE_USAGE: tableName('dev', 'usage'),
    };
    // Lambda defines `awslambda` before the import (the stream handler needs it); a stand-in does here.
    const load =
      "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } }; const m = await import(process.argv[1]); if (typeof m.handler !== 'function') throw new Error('no handler export'); console.log('handler-ok');";
    for (const { name } of Object.values(apiFunctions)) {
      const fns = (Object.values(template.Resources) as FunctionResource[]).filter(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === `tollgate-dev-${name}`,
      );
      expect(fns, name).toHaveLength(1);
      expect(fns[0]!.Metadata['aws:asset:is-bundled']).toBe(true);
      const assetDir = path.join(outdir, fns[0]!.Metadata['aws:asset:path']!);
      const bundle = readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith(esmRequireBanner), name).toBe(true);
      expect(bundle).toContain('//# sourceMappingURL=index.mjs.map');
      expect(existsSync(path.join(assetDir, 'index.mjs.map'))).toBe(true);
      // --check parses without running: catches a banner clashing with a bundled declaration.
      await expect(
        run(process.execPath, ['--check', path.join(assetDir, 'index.mjs')]),
      ).resolves.toBeDefined();

      // Cold start as Lambda would do it: only the bundle (no node_modules next to it in the
      // temp dir), only the environment the template sets plus what Lambda adds. Proves the
      // bundle is self-contained, ESM loads with its require shim, and the config accepts our env.
      // (A secret's ARN is a reference here; without it the entry uses the environment as is.)
      const env = { ...lambdaEnv };
      for (const [key, value] of Object.entries(fns[0]!.Properties.Environment.Variables)) {
        if (typeof value === 'string') env[key] = value;
      }
      // The streaming entry refuses to start without the edge secret, which in AWS it reads from
      // Secrets Manager at cold start (TOLLGATE_SECRETS_ARN, a reference here): a stand-in value.
      if (name === 'api-stream') env.EDGE_SECRET = 'edge-secret-stand-in-for-the-cold-start-check';
      const loaded = await run(
        process.execPath,
        ['--input-type=module', '-e', load, pathToFileURL(path.join(assetDir, 'index.mjs')).href],
        { cwd: assetDir, env },
      ).catch((error: { stderr?: string }) => {
        // Keep the failure readable: node echoes the (minified, one-line) source before the error.
        const lines = String(error.stderr ?? error)
          .split('\n')
          .filter((line) => line.length < 500);
        throw new Error(`${name}: bundle failed to load:\n${lines.join('\n')}`);
      });
      expect(loaded.stdout, name).toContain('handler-ok');
    }

    // The jobs' bundles (the billing job, the usage stream consumer) cold-start with only their own
    // template's environment.
    const jobs = JSON.parse(readFileSync(path.join(outdir, 'Tollgate-Dev-Jobs.template.json'), 'utf8'));
    for (const name of ['billing-sync', 'usage-consumer']) {
      const jobFn = (Object.values(jobs.Resources) as FunctionResource[]).find(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === `tollgate-dev-${name}`,
      );
      expect(jobFn, name).toBeDefined();
      expect(jobFn!.Metadata['aws:asset:is-bundled'], name).toBe(true);
      const jobDir = path.join(outdir, jobFn!.Metadata['aws:asset:path']!);
      const jobEnv: Record<string, string> = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' };
      for (const [key, value] of Object.entries(jobFn!.Properties.Environment.Variables)) {
        // The secret's ARN is a reference here; without it the entry uses the environment as is.
        if (typeof value === 'string') jobEnv[key] = value;
      }
      const jobLoaded = await run(
        process.execPath,
        ['--input-type=module', '-e', load, pathToFileURL(path.join(jobDir, 'index.mjs')).href],
        { cwd: jobDir, env: jobEnv },
      );
      expect(jobLoaded.stdout, name).toContain('handler-ok');
    }
  });

  it('refuses an unknown stage', { timeout: 180_000 }, async () => {
    const { code, stderr, outdir } = await synth('-c', 'stage=qa');
    expect(code).not.toBe(0);
    expect(stderr).toContain('Unknown stage "qa"');
    expect(existsSync(path.join(outdir, 'Tollgate-Qa-Api.template.json'))).toBe(false);
  });
});
