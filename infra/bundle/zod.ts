/**
 * `zod` for the Lambda bundles (esbuild's `--alias:zod`): the package's own entry minus
 * `z.locales`. @hono/zod-openapi passes the whole `z` namespace to zod-to-openapi, so no bundler
 * can drop the 40-odd locale modules it re-exports (about 260 KB of the API's bundle); the code
 * uses none (English messages come from `schemas.js` itself). Mirrors `zod/v4/classic/external`
 * of the version package.json pins; `test/infra/bundle.test.ts` checks the two keep the same exports.
 */
import * as z from './zod-external';

export * from './zod-external';
export { z, z as default };
