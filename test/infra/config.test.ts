import { describe, expect, it } from 'vitest';
import { parseStage, resolveEnv, stageConfig, stageConfigs, validateStageConfig } from '../../infra/config';
import { buildApp, stackName } from '../../infra/tollgate';

describe('stage config', () => {
  it('accepts the known stages and rejects anything else', () => {
    expect(parseStage('dev')).toBe('dev');
    expect(parseStage('prod')).toBe('prod');
    for (const bad of ['qa', 'Prod', '', undefined, 1]) {
      expect(() => parseStage(bad)).toThrow(/Unknown stage/);
    }
  });

  it('keeps each config under its own stage key', () => {
    for (const [stage, config] of Object.entries(stageConfigs)) expect(config.stage).toBe(stage);
  });

  it('retains data in prod only', () => {
    expect(stageConfig('prod').retainData).toBe(true);
    expect(stageConfig('dev').retainData).toBe(false);
  });

  it('refuses a model timeout that would outlive the function', () => {
    const dev = stageConfig('dev');
    expect(() => validateStageConfig({ ...dev, modelTimeoutMs: 29_000 })).toThrow(/modelTimeoutMs/);
    expect(() =>
      validateStageConfig({
        ...dev,
        apiFunction: { ...dev.apiFunction, timeoutSeconds: 60 },
        modelTimeoutMs: 1,
      }),
    ).toThrow(/30 s/);
  });

  it('names stacks Tollgate-<Stage>-<Part>', () => {
    expect(stackName('dev', 'Data')).toBe('Tollgate-Dev-Data');
    expect(stackName('prod', 'Api')).toBe('Tollgate-Prod-Api');
  });
});

describe('resolveEnv', () => {
  const dev = stageConfig('dev');

  it('prefers context, then CDK_DEFAULT_*, then the stage region', () => {
    const cliEnv = { CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'eu-west-1' };
    expect(resolveEnv(dev, { account: '222222222222', region: 'eu-central-1' }, cliEnv)).toEqual({
      account: '222222222222',
      region: 'eu-central-1',
    });
    expect(resolveEnv(dev, {}, cliEnv)).toEqual({ account: '111111111111', region: 'eu-west-1' });
    expect(resolveEnv(dev, {}, {})).toEqual({ account: undefined, region: dev.region });
  });

  it('lets a pinned stage account win over the CLI credentials', () => {
    const pinned = { ...dev, account: '333333333333' };
    expect(resolveEnv(pinned, {}, { CDK_DEFAULT_ACCOUNT: '111111111111' }).account).toBe('333333333333');
  });

  it('builds account-agnostic stacks when no account is known (offline synth)', () => {
    const { data, api } = buildApp('dev', { bundling: false });
    expect(data.region).toBe('us-east-1');
    expect(api.resolve(api.account)).toEqual({ Ref: 'AWS::AccountId' });
  });
});
