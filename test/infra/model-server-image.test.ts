import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../../infra/paths';
import { containerMode } from '../../local/runtime/container';
import { templates } from './helpers';

/**
 * The model-server image cannot be built here (no Docker on these machines): these checks hold
 * its Dockerfile to the contract the Models stack and SageMaker rely on, and the container mode
 * itself is exercised without Docker in test/integration/runtime-container.test.ts.
 */
const dockerfile = readFileSync(fromRoot('containers', 'model-server', 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .split('\n')
  .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n');
const stagesOf = instructions.filter((l) => /^FROM /.test(l));

describe('the model-server image (containers/model-server/Dockerfile)', () => {
  it('is multi-stage on a base pinned to an exact Node version', () => {
    expect(stagesOf.length).toBeGreaterThanOrEqual(2);
    const base = instructions.find((l) => l.startsWith('ARG NODE_IMAGE='))!;
    expect(base).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    for (const from of stagesOf) expect(from).not.toMatch(/:latest\b/);
  });

  it('runs as an unprivileged user, on port 8080, the runtime entry in container mode', () => {
    const runtime = instructions.slice(instructions.findIndex((l) => /^FROM .* AS runtime$/.test(l)));
    expect(runtime.filter((l) => l.startsWith('USER ')).at(-1)).toBe('USER node');
    expect(runtime).toContain('EXPOSE 8080');
    expect(runtime).toContain('ENTRYPOINT ["node", "--import", "tsx", "local/runtime/main.ts"]');
    expect(existsSync(fromRoot('local', 'runtime', 'main.ts'))).toBe(true);
    // Weights are baked in at build time: the Models stack isolates the container from the network.
    expect(runtime.some((l) => l.startsWith('COPY --from=models'))).toBe(true);
  });

  it('installs from the lock file without dev dependencies', () => {
    expect(instructions.some((l) => l.includes('npm ci --omit=dev'))).toBe(true);
    const tsx = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')).devDependencies.tsx as string;
    expect(
      instructions.some((l) => l.includes(`tsx@${tsx}`)),
      'the image runs the tested tsx',
    ).toBe(true);
  });

  it('keeps the build context to what the image copies', () => {
    const ignored = readFileSync(fromRoot('.dockerignore'), 'utf8').split('\n');
    for (const dir of ['node_modules', '.data', '.git', 'web', 'test', 'infra'])
      expect(ignored).toContain(dir);
    for (const copied of ['shared', 'local']) expect(ignored).not.toContain(copied);
  });

  it("starts every model-server component the Models stack defines in container mode for that component's version", () => {
    const { models, stacks } = templates('prod');
    const served = stacks.endpoints
      .flatMap((e) => e.components)
      .filter((v) => v.deployment.image.kind === 'model-server');
    expect(served.length).toBeGreaterThan(0);
    const envs = Object.values(models.findResources('AWS::SageMaker::Model')).map(
      (m) =>
        (m as { Properties: { PrimaryContainer: { Environment?: Record<string, string> } } }).Properties
          .PrimaryContainer.Environment ?? {},
    );
    for (const variant of served) {
      const env = envs.find((e) => e.TOLLGATE_MODEL_VERSION === variant.key);
      expect(env, variant.key).toBeDefined();
      // The same parse the container runs at start: the version exists and is exactly one.
      expect(containerMode(env!, 'prod')).toMatchObject({ version: variant.key, port: 8080 });
    }
  });
});
