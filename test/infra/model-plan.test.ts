import { describe, expect, it } from 'vitest';
import { parseEcrImage, parseS3Url, planEndpoints, unusedDeployments } from '../../infra/model-endpoints';
import type { ModelDeployment } from '../../shared/catalog/deployment';
import { model, version } from './catalog-fixtures';

const stage = 'dev';
const cpu: ModelDeployment = {
  instanceType: 'ml.c5.large',
  initialInstanceCount: 2,
  minCapacity: 1,
  maxCapacity: 4,
  targetInvocationsPerInstance: 100,
  image: { kind: 'model-server' },
};
const catalog = {
  models: [model('ocr', 'ocr', 'a')],
  versions: [version(stage, 'ocr', 'a'), version(stage, 'ocr', 'b')],
};
const both = { 'ocr@a': cpu, 'ocr@b': cpu };

describe('planEndpoints', () => {
  it('groups versions by endpoint, in catalog order', () => {
    const plan = planEndpoints(catalog, both);
    expect(plan).toHaveLength(1);
    expect(plan[0]!.endpointName).toBe('tollgate-dev-ocr');
    expect(plan[0]!.variants.map((v) => [v.key, v.variant, v.initialWeight])).toEqual([
      ['ocr@a', 'a', 1],
      ['ocr@b', 'b', 0],
    ]);
  });

  it('refuses a catalog version without a deployment, naming it', () => {
    expect(() => planEndpoints(catalog, { 'ocr@a': cpu })).toThrow(/no deployment .* for ocr@b/);
  });

  it('refuses a deployment for a version its model does not have', () => {
    expect(() => planEndpoints(catalog, { ...both, 'ocr@c': cpu })).toThrow(/catalog does not have: ocr@c/);
    expect(unusedDeployments(catalog, { ...both, 'ocr@c': cpu })).toEqual(['ocr@c']);
  });

  it('tolerates deployments of a model the catalog does not have yet (they land separately)', () => {
    const plan = planEndpoints(catalog, { ...both, 'chat@x': cpu });
    expect(plan.flatMap((e) => e.variants.map((v) => v.key))).toEqual(['ocr@a', 'ocr@b']);
  });

  it('refuses names SageMaker rejects and a variant used twice', () => {
    const dotted = {
      ...catalog,
      versions: [version(stage, 'ocr', 'a'), version(stage, 'ocr', 'b', { variant: '1.7b' })],
    };
    expect(() => planEndpoints(dotted, both)).toThrow(/variant name 1\.7b is not a valid SageMaker name/);
    const twice = {
      ...catalog,
      versions: [version(stage, 'ocr', 'a'), version(stage, 'ocr', 'b', { variant: 'a' })],
    };
    expect(() => planEndpoints(twice, both)).toThrow(/variant a is used twice on tollgate-dev-ocr/);
    const longName = { ...catalog, versions: [version(stage, 'ocr', 'a', { endpointName: 'x'.repeat(64) })] };
    expect(() => planEndpoints(longName, { 'ocr@a': cpu })).toThrow(/endpoint name x+ is not a valid/);
  });

  it('refuses contradictory capacities, zero instances and unusable artifacts', () => {
    const bad = (d: Partial<ModelDeployment>) => () =>
      planEndpoints(catalog, { 'ocr@a': cpu, 'ocr@b': { ...cpu, ...d } });
    expect(bad({ minCapacity: 3 })).toThrow(/minCapacity <= initialInstanceCount <= maxCapacity/);
    expect(bad({ minCapacity: 0 })).toThrow(/cannot scale to zero/);
    expect(bad({ targetInvocationsPerInstance: 0 })).toThrow(/targetInvocationsPerInstance/);
    expect(bad({ instanceType: 'g5.xlarge' })).toThrow(/not an ml\.\* type/);
    expect(bad({ modelDataUrl: 'https://example.com/model.tar.gz' })).toThrow(/modelDataUrl/);
    expect(bad({ image: { kind: 'hf-inference', hfTask: 'image-classification' } })).toThrow(
      /exactly one of hfModelId and modelDataUrl/,
    );
    expect(bad({ image: { kind: 'model-server', imageUri: 'docker.io/library/node:20' } })).toThrow(
      /not an ECR image/,
    );
  });

  it('caps instance counts at the stage maximum', () => {
    const [endpoint] = planEndpoints(catalog, both, { maxInstancesPerVariant: 1 });
    for (const v of endpoint!.variants) {
      expect(v.deployment).toMatchObject({ initialInstanceCount: 1, minCapacity: 1, maxCapacity: 1 });
    }
  });

  it('weights untargeted calls like unpinned requests: the traffic split, else the default version', () => {
    const weights = (traffic: Record<string, number> | undefined, defaultVersion = 'a') => {
      const m = { ...model('ocr', 'ocr', defaultVersion), ...(traffic ? { traffic } : {}) };
      return planEndpoints({ ...catalog, models: [m] }, both)[0]!.variants.map((v) => v.initialWeight);
    };
    expect(weights(undefined)).toEqual([1, 0]);
    expect(weights(undefined, 'b')).toEqual([0, 1]);
    expect(weights({ a: 3, b: 1 })).toEqual([3, 1]);
    expect(weights({ b: 5 })).toEqual([0, 5]);
    // No positive weight means the default version takes everything.
    expect(weights({ a: 0, b: 0 }, 'b')).toEqual([0, 1]);
    // A default that is not hosted here (retired) still leaves the endpoint routable.
    const retiredDefault = {
      models: [model('ocr', 'ocr', 'a')],
      versions: [version(stage, 'ocr', 'a', { status: 'retired' }), version(stage, 'ocr', 'b')],
    };
    expect(planEndpoints(retiredDefault, both)[0]!.variants.map((v) => [v.variant, v.initialWeight])).toEqual(
      [['b', 1]],
    );
  });
});

describe('artifact and image parsing', () => {
  it('accepts s3 archives and prefixes only', () => {
    expect(parseS3Url('s3://bucket-1/a/b/model.tar.gz')).toEqual({
      bucket: 'bucket-1',
      key: 'a/b/model.tar.gz',
      prefix: false,
    });
    expect(parseS3Url('s3://bucket-1/a/b/')).toEqual({ bucket: 'bucket-1', key: 'a/b/', prefix: true });
    expect(parseS3Url('s3://bucket-1/a/b/model.bin')).toBeUndefined();
    expect(parseS3Url('s3://B/a.tar.gz')).toBeUndefined();
  });

  it('reads account, region and repository from ECR image URIs', () => {
    expect(parseEcrImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/tollgate-model-server:v1')).toEqual({
      account: '123456789012',
      region: 'us-east-1',
      repository: 'tollgate-model-server',
    });
    expect(
      parseEcrImage(`123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b@sha256:${'a'.repeat(64)}`)?.repository,
    ).toBe('a/b');
    expect(parseEcrImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/repo')).toBeUndefined();
    expect(parseEcrImage('ghcr.io/huggingface/text-generation-inference:3.0.1')).toBeUndefined();
  });
});
