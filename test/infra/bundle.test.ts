import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as zod from 'zod';
import * as lean from '../../infra/bundle/zod';
import { lambdaBuildOptions } from '../../infra/bundling';
import { type ApiFunctionId, apiFunctions } from '../../infra/stacks/api-stack';
import { batchWorkerEntry, usageConsumerEntry } from '../../infra/stacks/jobs-stack';

/** A function's bundle, built as the stack builds it: its size and the packages in it. */
async function bundleOf(entry: string): Promise<{ bytes: number; inputs: string[] }> {
  const r = await build({ ...lambdaBuildOptions(entry, 'out.mjs'), write: false });
  const out = Object.values((r.metafile as Metafile).outputs).find((o) => o.entryPoint)!;
  return { bytes: out.bytes, inputs: Object.keys(out.inputs) };
}

/** One API function's bundle. */
const bundle = (fid: ApiFunctionId) => bundleOf(apiFunctions[fid].entry);

const has = (inputs: string[], pkg: string) => inputs.some((p) => p.includes(`node_modules/${pkg}/`));

/** The Lambda bundles' `zod` (infra/bundle/zod.ts, aliased in infra/bundling.ts) is zod minus its locales. */
describe('Lambda bundling', () => {
  it('aliases zod to the same modules, with every export but the locales', () => {
    const names = (o: object) => Object.keys(o).sort();
    expect(names(lean)).toEqual(names(zod).filter((k) => k !== 'locales'));
    expect(names(lean.core)).toEqual(names(zod.core).filter((k) => k !== 'locales'));
    // The same module instances, not copies: schemas built with either are one class.
    expect(lean.z.object).toBe(zod.z.object);
    expect(lean.z.string().safeParse(1).error?.issues[0]?.message).toBe(
      zod.z.string().safeParse(1).error?.issues[0]?.message,
    );
  });

  it('gives a bundled SDK client the credentials Lambda puts in the environment, and says so when there are none', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-credentials-'));
    try {
      const entry = path.join(dir, 'entry.ts');
      writeFileSync(
        entry,
        [
          "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
          "const client = new DynamoDBClient({ region: 'us-east-1' });",
          'client.config.credentials().then(',
          '  (c) => console.log(JSON.stringify({ id: c.accessKeyId, token: c.sessionToken })),',
          '  (e) => console.log(JSON.stringify({ error: e.message })),',
          ');',
        ].join('\n'),
      );
      const outfile = path.join(dir, 'out.mjs');
      // The entry sits outside the repo: packages resolve from the repo's node_modules.
      const nodePaths = [path.resolve('node_modules')];
      const r = await build({ ...lambdaBuildOptions(entry, outfile), nodePaths });
      const out = Object.values((r.metafile as Metafile).outputs).find((o) => o.entryPoint)!;
      expect(has(Object.keys(out.inputs), '@aws-sdk/nested-clients')).toBe(false);
      const run = (env: Record<string, string>) => {
        const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
        const p = spawnSync(process.execPath, [outfile], { env: { ...clean, ...env }, encoding: 'utf8' });
        return JSON.parse(p.stdout.trim()) as { id?: string; token?: string; error?: string };
      };
      expect(
        run({
          AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'secret',
          AWS_SESSION_TOKEN: 'token',
        }),
      ).toEqual({ id: 'ASIAEXAMPLE', token: 'token' });
      expect(run({}).error).toMatch(/environment variable credentials/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe.each(Object.keys(apiFunctions) as ApiFunctionId[])('the %s function', (fid) => {
    const built = bundle(fid);
    const { plane } = apiFunctions[fid];

    it("carries only its own plane's SDKs", async () => {
      const { inputs } = await built;
      const locales = inputs.filter((p) => p.includes('zod/v4/locales/'));
      expect(locales.map((p) => p.split('/').pop())).toEqual(['en.js']);
      // Stripe only where Stripe is called; the SageMaker Runtime client only on the data plane, and
      // on the batch plane, whose deps take the data plane's parts (the /v1 middleware) with their
      // model port: about 15 KB there, never called, and its role may not invoke (api-stack.test.ts).
      expect(has(inputs, 'stripe'), 'stripe').toBe(plane === 'billing');
      expect(has(inputs, '@aws-sdk/client-sagemaker-runtime'), 'SageMaker Runtime').toBe(
        plane === 'data' || plane === 'batch',
      );
      // Session tokens: not on the hot path, not in the public docs. Secrets: every plane but the
      // docs (the data plane reads only the edge secret, for its per-IP limit).
      expect(has(inputs, 'jose'), 'jose').toBe(
        plane === 'console' || plane === 'billing' || plane === 'batch',
      );
      expect(has(inputs, '@aws-sdk/client-secrets-manager'), 'Secrets Manager').toBe(plane !== 'docs');
      // SES where mail is sent: the billing plane queues its notices for the billing job. The batch
      // plane links it with the data plane's parts (about 64 KB) and sends nothing: its role may not.
      expect(has(inputs, '@aws-sdk/client-sesv2'), 'SES').toBe(
        plane === 'data' || plane === 'console' || plane === 'batch',
      );
      // Batch files and work: the S3 and SQS clients only where batches are created.
      expect(has(inputs, '@aws-sdk/client-s3'), 'S3').toBe(plane === 'batch');
      expect(has(inputs, '@aws-sdk/client-sqs'), 'SQS').toBe(plane === 'batch');
      // Credentials from the environment only (infra/bundle/credentials.ts): no STS or SSO client.
      expect(has(inputs, '@aws-sdk/credential-provider-node'), 'the default chain').toBe(false);
      expect(has(inputs, '@aws-sdk/nested-clients'), 'STS and SSO clients').toBe(false);
    }, 60_000);

    // A budget, not a timing: a dependency that adds hundreds of KB to a cold start fails here.
    // The data plane (the inference path): 1 MB (977 KB when last measured). The others serve
    // no model call; their budgets leave 40 to 60 KB of room over what they measured when set:
    // - docs: every route's schema, for /openapi.json (it grows with the API): 991 KB, 1.05 MB;
    // - console: the account and admin routes (projects, the request log and the audit trails
    //   brought it from 990 to 1,057 KB, all of it their own code): 1.1 MB;
    // - billing: the Stripe SDK (about 250 KB) and money's routes (credits, top-ups, plans,
    //   finance): 1,107 KB, 1.15 MB;
    // - batch: the /v1 middleware, the consoles' batch pages and the S3 (about 105 KB) and SQS
    //   (25 KB) clients: 1,210 KB, 1.25 MB.
    const budgets: Partial<Record<string, number>> = {
      docs: 1_050_000,
      console: 1_100_000,
      billing: 1_150_000,
      batch: 1_250_000,
    };
    const budget = budgets[plane] ?? 1_000_000;
    it(`is under ${budget / 1_000_000} MB minified`, async () => {
      expect((await built).bytes).toBeLessThan(budget);
    }, 60_000);
  });

  describe('the batch worker function (Jobs stack)', () => {
    const built = bundleOf(batchWorkerEntry);

    it("carries the data plane's clients (DynamoDB, SageMaker Runtime, SES) and S3 and SQS: no Stripe, no sessions", async () => {
      const { inputs } = await built;
      for (const pkg of [
        '@aws-sdk/client-dynamodb',
        '@aws-sdk/lib-dynamodb',
        '@aws-sdk/client-sagemaker-runtime',
        '@aws-sdk/client-sesv2',
        '@aws-sdk/client-s3',
        '@aws-sdk/client-sqs',
      ]) {
        expect(has(inputs, pkg), pkg).toBe(true);
      }
      expect(has(inputs, 'stripe'), 'stripe').toBe(false);
      expect(has(inputs, 'jose'), 'jose').toBe(false);
      expect(has(inputs, '@aws-sdk/credential-provider-node'), 'the default chain').toBe(false);
      expect(has(inputs, '@aws-sdk/nested-clients'), 'STS and SSO clients').toBe(false);
      const locales = inputs.filter((p) => p.includes('zod/v4/locales/'));
      expect(locales.map((p) => p.split('/').pop())).toEqual(['en.js']);
    }, 60_000);

    // The data plane's code (its routes run each line in process) plus the S3 (about 105 KB) and
    // SQS (25 KB) clients: 1,137 KB when this budget was set; 1.2 MB leaves about 60 KB of room.
    // Off the request path: a cold start delays a chunk, not a caller.
    it('is under 1.2 MB minified', async () => {
      expect((await built).bytes).toBeLessThan(1_200_000);
    }, 60_000);
  });

  describe('the usage consumer function (Jobs stack)', () => {
    const built = bundleOf(usageConsumerEntry);

    it('carries the DynamoDB clients and nothing of the API: no Stripe, SES, secrets or SageMaker', async () => {
      const { inputs } = await built;
      expect(has(inputs, '@aws-sdk/client-dynamodb'), 'DynamoDB').toBe(true);
      expect(has(inputs, '@aws-sdk/lib-dynamodb'), 'the document client').toBe(true);
      expect(has(inputs, 'stripe'), 'stripe').toBe(false);
      expect(has(inputs, '@aws-sdk/client-sesv2'), 'SES').toBe(false);
      expect(has(inputs, '@aws-sdk/client-secrets-manager'), 'Secrets Manager').toBe(false);
      expect(has(inputs, '@aws-sdk/client-sagemaker-runtime'), 'SageMaker Runtime').toBe(false);
      // Lambda reads the stream for it; the local poller's Streams client stays out.
      expect(has(inputs, '@aws-sdk/client-dynamodb-streams'), 'DynamoDB Streams').toBe(false);
      expect(has(inputs, 'hono'), 'hono').toBe(false);
      expect(has(inputs, 'jose'), 'jose').toBe(false);
      expect(has(inputs, '@aws-sdk/credential-provider-node'), 'the default chain').toBe(false);
      expect(has(inputs, '@aws-sdk/nested-clients'), 'STS and SSO clients').toBe(false);
    }, 60_000);

    it('is under 1 MB minified', async () => {
      expect((await built).bytes).toBeLessThan(1_000_000);
    }, 60_000);
  });
});
