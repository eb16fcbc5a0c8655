import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { fromRoot } from '../../infra/paths';

/**
 * The deploy workflow (.github/workflows/deploy.yml) cannot run here (no GitHub runner, no AWS
 * account): these checks hold it to what docs/deploy.md says it does, against the repository it
 * names. The file is read as text, one job block at a time.
 */
const workflow = readFileSync(fromRoot('.github', 'workflows', 'deploy.yml'), 'utf8');
const jobsText = workflow.slice(workflow.indexOf('\njobs:\n'));
const jobNames = [...jobsText.matchAll(/^ {2}([a-z][\w-]*):$/gm)].map((m) => m[1]!);
function job(name: string): string {
  const start = jobsText.indexOf(`\n  ${name}:\n`);
  if (start < 0) throw new Error(`no job ${name}`);
  const next = jobsText.slice(start + 1).search(/\n {2}[a-z][\w-]*:\n/);
  return next < 0 ? jobsText.slice(start) : jobsText.slice(start, start + 1 + next + 1);
}

describe('the deploy pipeline (.github/workflows/deploy.yml)', () => {
  it('deploys only after the tests, the nag synth and the image', () => {
    expect(jobNames).toEqual(['test', 'synth-nag', 'image', 'deploy']);
    expect(job('deploy')).toMatch(/^ {4}needs: \[test, synth-nag, image\]$/m);
    expect(job('deploy')).toMatch(/npm run deploy -- .*--require-approval never/);
    expect(job('deploy')).toContain('-c nag=true');
    expect(job('deploy')).toContain('modelServerTag="$TAG"');
    expect(job('deploy')).toMatch(/TAG: \$\{\{ needs\.image\.outputs\.tag \}\}/);
  });

  it('tests with .ci/run, the image layer included', () => {
    expect(job('test')).toMatch(/^ {6}- run: \.ci\/run$/m);
    accessSync(fromRoot('.ci', 'run'), constants.X_OK);
    // podman inside the job container needs privileges and room for the build's storage.
    expect(job('test')).toMatch(/options: --privileged --shm-size=\d+g/);
  });

  it('synthesizes every stage with the cdk-nag checks', () => {
    const loop = /for stage in ([a-z ]+); do/.exec(job('synth-nag'));
    expect(loop?.[1]?.split(' ').sort()).toEqual([...stages].sort());
    expect(job('synth-nag')).toMatch(/npx cdk synth .*-c stage="\$stage" -c nag=true -c models=true/);
  });

  it('builds the Dockerfile, calls it, and pushes to the repository the stages deploy from', () => {
    const image = job('image');
    expect(image).toContain('docker build --platform linux/amd64 -f containers/model-server/Dockerfile');
    expect(existsSync(fromRoot('containers', 'model-server', 'Dockerfile'))).toBe(true);
    expect(image).toMatch(/curl -fsS 127\.0\.0\.1:8080\/ping/);
    expect(image).toMatch(/curl -fsS -X POST 127\.0\.0\.1:8080\/invocations/);
    for (const stage of stages) {
      const repository = stageConfig(stage).models.modelServerImage.repositoryName;
      expect(image).toContain(`/${repository}`);
      expect(image).toContain(`--repository-name ${repository}`);
    }
  });

  it('gets AWS credentials through OIDC only, and pins every action to a version', () => {
    expect(workflow).not.toMatch(/aws-access-key-id|aws-secret-access-key|secrets\.AWS/);
    for (const name of ['image', 'deploy']) {
      expect(job(name)).toContain('id-token: write');
      expect(job(name)).toMatch(/role-to-assume: \$\{\{ vars\.AWS_DEPLOY_ROLE_ARN \}\}/);
    }
    const uses = [...workflow.matchAll(/uses: (\S+)/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/@(v\d+(\.\d+)*|[0-9a-f]{40})$/);
  });
});
