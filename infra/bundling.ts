import { fileURLToPath } from 'node:url';
import { type BundlingOptions, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** `zod` without its locales (see infra/bundle/zod.ts): about 260 KB less in every bundle that validates. */
export const zodWithoutLocales = fileURLToPath(new URL('./bundle/zod.ts', import.meta.url));

/** The SDK's credential chain cut to the environment (see infra/bundle/credentials.ts): about 115 KB less in every bundle. */
export const environmentCredentials = fileURLToPath(new URL('./bundle/credentials.ts', import.meta.url));

/**
 * ESM bundles have no `require`; CJS dependencies bundled into them still call it (for node
 * builtins, e.g. `require("buffer")`), and esbuild's shim then throws "Dynamic require is not
 * supported". Defining it from import.meta.url fixes that. The import is aliased so it cannot
 * clash with a bundled module's own top-level `createRequire` binding.
 */
export const esmRequireBanner =
  "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);";

/** How every Tollgate Lambda is bundled: ESM, minified, source maps, the AWS SDK included. */
export const tollgateBundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  banner: esmRequireBanner,
  // Prefer packages' ESM builds (hono, the SDK's dist-es): smaller and tree-shakeable.
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  // Mapped stack traces need only the mappings, not the original text; leaving the sources
  // out keeps the bundled SDK from doubling the zip (and the cold-start unzip).
  sourcesContent: false,
  // Bundle the AWS SDK too (the default would leave @aws-sdk/* to the runtime's copy). The
  // runtime's SDK version drifts with Lambda's release cadence; the SageMaker Runtime and
  // DynamoDB clients we test against (pinned in package.json) are the ones that must run,
  // e.g. for InvokeEndpointWithResponseStream event-stream handling. Cost: a larger
  // bundle, offset by tree-shaking and minification.
  externalModules: [],
  // No Docker here or in CI: bundle with the repo's own esbuild (found in node_modules).
  forceDockerBundling: false,
  esbuildArgs: {
    '--alias:zod': zodWithoutLocales,
    '--alias:@aws-sdk/credential-provider-node': environmentCredentials,
  },
};

/** The esbuild options NodejsFunction derives from infra/bundling.ts, for measuring (the bench) and checking (test/infra/bundle.test.ts) what deploys. */
export function lambdaBuildOptions(entry: string, outfile: string): BuildOptions {
  const b = tollgateBundling;
  const alias: Record<string, string> = {};
  for (const [arg, value] of Object.entries(b.esbuildArgs ?? {})) {
    const m = /^--alias:(.+)$/.exec(arg);
    if (m?.[1] && typeof value === 'string') alias[m[1]] = value;
  }
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: b.target,
    minify: b.minify,
    mainFields: b.mainFields,
    banner: b.banner ? { js: b.banner } : undefined,
    external: b.externalModules,
    alias,
    outfile,
    metafile: true,
    logLevel: 'silent',
  };
}
