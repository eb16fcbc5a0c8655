import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as zod from 'zod';
import * as lean from '../../infra/bundle/zod';
import { lambdaBuildOptions } from '../../infra/bundling';
import { type ApiFunctionId, apiFunctions } from '../../infra/stacks/api-stack';

/** One API function's bundle, built as the stack builds it: its size and the packages in it. */
async function bundle(fid: ApiFunctionId): Promise<{ bytes: number; inputs: string[] }> {
  const r = await build({ ...lambdaBuildOptions(apiFunctions[fid].entry, 'out.mjs'), write: false });
  const out = Object.values((r.metafile as Metafile).outputs).find((o) => o.entryPoint)!;
  return { bytes: out.bytes, inputs: Object.keys(out.inputs) };
}

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

  describe.each(Object.keys(apiFunctions) as ApiFunctionId[])('the %s function', (fid) => {
    const built = bundle(fid);
    const { plane } = apiFunctions[fid];

    it("carries only its own plane's SDKs", async () => {
      const { inputs } = await built;
      const locales = inputs.filter((p) => p.includes('zod/v4/locales/'));
      expect(locales.map((p) => p.split('/').pop())).toEqual(['en.js']);
      // Stripe only where Stripe is called; the SageMaker Runtime client only on the data plane.
      expect(has(inputs, 'stripe'), 'stripe').toBe(plane === 'billing');
      expect(has(inputs, '@aws-sdk/client-sagemaker-runtime'), 'SageMaker Runtime').toBe(plane === 'data');
      // Session tokens: not on the hot path, not in the public docs. Secrets: every plane but the
      // docs (the data plane reads only the edge secret, for its per-IP limit).
      expect(has(inputs, 'jose'), 'jose').toBe(plane === 'console' || plane === 'billing');
      expect(has(inputs, '@aws-sdk/client-secrets-manager'), 'Secrets Manager').toBe(plane !== 'docs');
      expect(has(inputs, '@aws-sdk/client-sesv2'), 'SES').toBe(plane !== 'docs');
    }, 60_000);

    // A budget, not a timing: a dependency that adds hundreds of KB to a cold start fails here.
    // Billing carries the Stripe SDK (about 240 KB of it) and is held to what it weighs today
    // (about 1.16 MB) until that SDK is replaced by the few HTTP calls it makes.
    const budget = plane === 'billing' ? 1_200_000 : 1_000_000;
    it(`is under ${budget / 1e6} MB minified`, async () => {
      expect((await built).bytes).toBeLessThan(budget);
    }, 60_000);
  });
});
