import { defineConfig } from 'vitest/config';

/**
 * Test layers, each its own project: `vitest run --project unit` and so on.
 * unit: pure, no I/O. api: the Hono app in process against DynamoDB Local and the local model
 * runtime. api-statuses: the statuses the api tests saw, against /openapi.json (after api).
 * integration: the whole local stack over HTTP. infra: CDK template assertions. e2e: the consoles
 * in Debian's Chromium (playwright-core) against the whole local stack. image: the model-server
 * image built (buildah) and run (podman).
 * The projects run one after another (groupOrder): on a 2-core machine, overlapping them only
 * makes each slower.
 */
export default defineConfig({
  test: {
    // CI also writes a JSON report, from which .ci/run prints one summary line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CDK_DISABLE_VERSION_CHECK: '1',
      // Runtimes started by tests host the cheap models; a file that needs vision models says so.
      RUNTIME_MODELS: 'sentiment,chat',
    },
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        test: {
          name: 'api',
          sequence: { groupOrder: 1 },
          include: ['test/api/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // After the api project: the statuses its tests saw, against /openapi.json
        // (test/support/observed-statuses.ts says how they are recorded).
        test: {
          name: 'api-statuses',
          sequence: { groupOrder: 2 },
          include: ['test/api-statuses/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 3 },
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file starts real processes (java, the model runtime, vision models): one file at a
          // time. Two at once starved each other on 2 cores (stack start-ups and model calls timed
          // out), which made failures of the machine look like failures of the code.
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'infra',
          sequence: { groupOrder: 4 },
          include: ['test/infra/**/*.test.ts'],
          // The Console stack uploads web/dist: built here when missing or stale (under a second).
          globalSetup: ['test/infra/global-setup.ts'],
          testTimeout: 180_000,
          // Files share one module graph per worker: aws-cdk-lib loads once (seconds per load)
          // and each stage's app is synthesized once (helpers' cache), not once per file.
          isolate: false,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 5 },
          include: ['test/e2e/**/*.test.ts'],
          // Builds web/dist from the sources under test before any browser opens.
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The model-server image built from its Dockerfile and run with podman (minutes: the build
        // installs the production dependencies and makes the Node base image from Debian's mirror).
        test: {
          name: 'image',
          sequence: { groupOrder: 6 },
          include: ['test/image/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
