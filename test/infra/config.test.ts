import { describe, expect, it } from 'vitest';
import {
  parseStage,
  resolveEnv,
  stageConfig,
  stageConfigs,
  validateStageConfig,
  withOverrides,
} from '../../infra/config';
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

  it('deploys GPU-billed model endpoints in prod only, unless told otherwise', () => {
    expect(stageConfig('prod').models.deploy).toBe(true);
    expect(stageConfig('dev').models.deploy).toBe(false);
    expect(buildApp('dev', { bundling: false }).models).toBeUndefined();
    expect(
      buildApp('prod', { bundling: false, overrides: { modelServerTag: 'abc1234' } }).models?.stackName,
    ).toBe('Tollgate-Prod-Models');
    // The CLI passes context as strings.
    expect(withOverrides(stageConfig('dev'), { models: 'true' }).models.deploy).toBe(true);
    expect(withOverrides(stageConfig('prod'), { models: 'false' }).models.deploy).toBe(false);
    expect(() => withOverrides(stageConfig('dev'), { models: 'yes' })).toThrow(
      /models= must be true or false/,
    );
  });

  it('takes the model server tag and alarm address from context, validated', () => {
    const dev = withOverrides(stageConfig('dev'), {
      modelServerTag: 'git-3f2a9c1',
      alarmEmail: 'ops@example.com',
    });
    expect(dev.models.modelServerImage.tag).toBe('git-3f2a9c1');
    expect(dev.observability.alarmEmail).toBe('ops@example.com');
    // Overrides never leak into the shared stage config.
    expect(stageConfig('dev').models.modelServerImage.tag).toBe('latest');
    expect(() => withOverrides(stageConfig('dev'), { modelServerTag: 'bad tag' })).toThrow(/tag/);
    expect(() => withOverrides(stageConfig('dev'), { alarmEmail: 'nobody' })).toThrow(/alarmEmail/);
  });

  it('caps dev at two instances per endpoint, and bakes each released copy within what SageMaker allows', () => {
    expect(stageConfig('dev').models.maxInstancesPerEndpoint).toBe(2);
    expect(stageConfig('prod').models.maxInstancesPerEndpoint).toBeUndefined();
    const dev = stageConfig('dev');
    expect(() =>
      validateStageConfig({ ...dev, models: { ...dev.models, maxInstancesPerEndpoint: 0 } }),
    ).toThrow(/maxInstancesPerEndpoint/);
    expect(stageConfig('prod').models.releaseBakeSeconds).toBeGreaterThanOrEqual(300);
    for (const bad of [-1, 3_601, 1.5]) {
      expect(() =>
        validateStageConfig({ ...dev, models: { ...dev.models, releaseBakeSeconds: bad } }),
      ).toThrow(/releaseBakeSeconds/);
    }
  });

  it('reserves API concurrency only while enough stays unreserved for Lambda and the jobs', () => {
    for (const stage of ['dev', 'prod'] as const) {
      const { concurrency } = stageConfig(stage);
      const reserved = Object.values(concurrency.api).reduce((a, b) => a + b, 0) + concurrency.batchWorker;
      expect(concurrency.accountLimit - reserved).toBeGreaterThanOrEqual(concurrency.minUnreserved);
      expect(concurrency.minUnreserved).toBeGreaterThanOrEqual(100);
    }
    const prod = stageConfigs.prod;
    const greedy = {
      ...prod,
      concurrency: { ...prod.concurrency, api: { ...prod.concurrency.api, data: 670 } },
    };
    // 670 + 200 + 50 + 20 + 10 + 20 (the API functions) + 10 (the batch worker).
    expect(() => validateStageConfig(greedy)).toThrow(/reserve 980 of the account's 1000.*leaving 20/);
    const busyBatch = { ...prod, concurrency: { ...prod.concurrency, batchWorker: 400 } };
    expect(() => validateStageConfig(busyBatch)).toThrow(/batch worker reserve 1000 of the account's 1000/);
    const zero = { ...prod, concurrency: { ...prod.concurrency, api: { ...prod.concurrency.api, docs: 0 } } };
    expect(() => validateStageConfig(zero)).toThrow(/concurrency.api.docs/);
  });

  it('bounds the batch worker small, with a slot for its sweep beside the queue', () => {
    expect(stageConfig('dev').concurrency.batchWorker).toBe(3);
    expect(stageConfig('prod').concurrency.batchWorker).toBe(10);
    const dev = stageConfig('dev');
    for (const bad of [2, 0, 2.5]) {
      expect(() =>
        validateStageConfig({ ...dev, concurrency: { ...dev.concurrency, batchWorker: bad } }),
      ).toThrow(/concurrency.batchWorker must be an integer >= 3/);
    }
  });

  it('refuses to synthesize prod endpoints on the model server tag "latest"', () => {
    expect(stageConfig('prod').models.modelServerImage.tag).toBe('latest');
    expect(() => buildApp('prod', { bundling: false })).toThrow(
      /refuses the model server image tag "latest" \(models\.modelServerImage\.tag.*-c modelServerTag=/,
    );
    expect(() => buildApp('prod', { bundling: false, overrides: { modelServerTag: 'latest' } })).toThrow(
      /"latest"/,
    );
    // Pinned, or no endpoints at all: fine. dev may run latest.
    expect(
      buildApp('prod', { bundling: false, overrides: { modelServerTag: '5ca9cf9' } }).models,
    ).toBeDefined();
    expect(buildApp('prod', { bundling: false, overrides: { models: false } }).models).toBeUndefined();
    expect(buildApp('dev', { bundling: false, overrides: { models: true } }).models).toBeDefined();
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
