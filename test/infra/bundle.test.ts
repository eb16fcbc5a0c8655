import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as zod from 'zod';
import * as lean from '../../infra/bundle/zod';
import { lambdaBuildOptions } from '../../infra/bundling';

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

  it('keeps the API bundle free of zod locales other than English, and within its size budget', async () => {
    const r = await build({ ...lambdaBuildOptions('functions/api/lambda.ts', 'out.mjs'), write: false });
    const out = Object.values(r.metafile?.outputs ?? {}).find((o) => o.entryPoint)!;
    const locales = Object.keys(out.inputs).filter((p) => p.includes('zod/v4/locales/'));
    expect(locales.map((p) => p.split('/').pop())).toEqual(['en.js']);
    // A budget, not a timing (about 1.25 MB today, with room for features): a dependency that adds
    // hundreds of KB to every cold start fails here.
    expect(out.bytes).toBeLessThan(1_450_000);
  }, 60_000);
});
