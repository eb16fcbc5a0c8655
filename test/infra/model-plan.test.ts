import { describe, expect, it } from 'vitest';
import {
  instanceCapacity,
  instancesNeeded,
  parseEcrImage,
  parseS3Url,
  planEndpoints,
  unusedDeployments,
} from '../../infra/model-endpoints';
import type { ModelDeployment } from '../../shared/catalog/deployment';
import { model, version } from './catalog-fixtures';

const stage = 'dev';
const cpu: ModelDeployment = {
  instanceType: 'ml.c5.xlarge',
  resources: { cpuCores: 1, memoryMb: 1_024 },
  initialCopies: 2,
  minCopies: 1,
  maxCopies: 4,
  targetConcurrentRequestsPerCopy: 4,
  image: { kind: 'model-server' },
};
const gpu: ModelDeployment = {
  instanceType: 'ml.g6.xlarge',
  resources: { acceleratorDevices: 1, cpuCores: 2, memoryMb: 4_096 },
  initialCopies: 1,
  minCopies: 1,
  maxCopies: 2,
  targetConcurrentRequestsPerCopy: 16,
  image: { kind: 'hf-tgi', hfModelId: 'org/model', numGpus: 1, maxInputTokens: 1_000, maxTotalTokens: 2_000 },
};
const catalog = {
  models: [model('ocr', 'ocr', 'a')],
  versions: [version(stage, 'ocr', 'a'), version(stage, 'ocr', 'b')],
};
const both = { 'ocr@a': cpu, 'ocr@b': cpu };

describe('planEndpoints', () => {
  it('groups versions by endpoint, in catalog order, one inference component each, named <endpoint>-<variant>', () => {
    const plan = planEndpoints(catalog, both);
    expect(plan).toHaveLength(1);
    expect(plan[0]!.endpointName).toBe('tollgate-dev-ocr');
    expect(plan[0]!.instanceType).toBe('ml.c5.xlarge');
    expect(plan[0]!.components.map((c) => [c.key, c.variant, c.componentName])).toEqual([
      ['ocr@a', 'a', 'tollgate-dev-ocr-a'],
      ['ocr@b', 'b', 'tollgate-dev-ocr-b'],
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
    expect(plan.flatMap((e) => e.components.map((c) => c.key))).toEqual(['ocr@a', 'ocr@b']);
  });

  it('refuses names SageMaker rejects, a variant used twice and a component name past 63 characters', () => {
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
    // Each name fits alone; joined they are 64 characters.
    const joined = {
      ...catalog,
      versions: [version(stage, 'ocr', 'a', { endpointName: 'e'.repeat(40), variant: 'v'.repeat(23) })],
    };
    expect(() => planEndpoints(joined, { 'ocr@a': cpu })).toThrow(
      /inference component name e+-v+ is not a valid/,
    );
  });

  it('refuses contradictory copy counts, zero copies, unusable artifacts and TGI without its GPUs', () => {
    const bad = (d: Partial<ModelDeployment>) => () =>
      planEndpoints(catalog, { 'ocr@a': cpu, 'ocr@b': { ...cpu, ...d } });
    expect(bad({ minCopies: 3 })).toThrow(/minCopies <= initialCopies <= maxCopies/);
    expect(bad({ minCopies: 0 })).toThrow(/only a preview version scales to zero/);
    expect(bad({ targetConcurrentRequestsPerCopy: 0 })).toThrow(/targetConcurrentRequestsPerCopy/);
    expect(bad({ instanceType: 'c5.xlarge' })).toThrow(/not an ml\.\* type/);
    expect(bad({ resources: { cpuCores: 0, memoryMb: 1_024 } })).toThrow(/reserve some CPU/);
    expect(bad({ resources: { acceleratorDevices: 0.5, cpuCores: 1, memoryMb: 1_024 } })).toThrow(
      /whole number of GPUs/,
    );
    expect(bad({ modelDataUrl: 'https://example.com/model.tar.gz' })).toThrow(/modelDataUrl/);
    expect(bad({ image: { kind: 'hf-inference', hfTask: 'image-classification' } })).toThrow(
      /exactly one of hfModelId and modelDataUrl/,
    );
    expect(bad({ image: { kind: 'model-server', imageUri: 'docker.io/library/node:20' } })).toThrow(
      /not an ECR image/,
    );
    expect(() =>
      planEndpoints(catalog, {
        'ocr@a': gpu,
        'ocr@b': { ...gpu, resources: { cpuCores: 2, memoryMb: 4_096 } },
      }),
    ).toThrow(/ocr@b: TGI shards over numGpus \(1\) GPUs/);
  });

  it('refuses two instance types on one endpoint, an instance type it cannot size, and a copy no instance holds', () => {
    expect(() => planEndpoints(catalog, { 'ocr@a': cpu, 'ocr@b': gpu })).toThrow(
      /tollgate-dev-ocr: its versions name different instance types \(ml\.c5\.xlarge, ml\.g6\.xlarge\)/,
    );
    expect(() =>
      planEndpoints(catalog, {
        'ocr@a': { ...cpu, instanceType: 'ml.x9.huge' },
        'ocr@b': { ...cpu, instanceType: 'ml.x9.huge' },
      }),
    ).toThrow(/ml\.x9\.huge is not in instanceCapacity/);
    expect(() =>
      planEndpoints(catalog, {
        'ocr@a': cpu,
        'ocr@b': { ...cpu, resources: { cpuCores: 1, memoryMb: 9_000 } },
      }),
    ).toThrow(/ocr@b: one copy needs more than one ml\.c5\.xlarge offers/);
    expect(() =>
      planEndpoints(catalog, {
        'ocr@a': cpu,
        'ocr@b': { ...cpu, resources: { acceleratorDevices: 1, cpuCores: 1, memoryMb: 1_024 } },
      }),
    ).toThrow(/ocr@b: one copy needs more than one ml\.c5\.xlarge offers/);
  });

  it('sizes the endpoint from its copies: instances for the initial, minimum and maximum copies', () => {
    // 4 vCPUs per instance, copies of 1 vCPU: 2 + 2 initial copies fit on one instance, 8 max on two.
    const [endpoint] = planEndpoints(catalog, both);
    expect(endpoint!.instances).toEqual({ initial: 1, min: 1, max: 2 });
    // One GPU per instance: every GPU copy is an instance of its own.
    const gpus = planEndpoints(catalog, { 'ocr@a': gpu, 'ocr@b': gpu });
    expect(gpus[0]!.instances).toEqual({ initial: 2, min: 2, max: 4 });
  });

  it('starts a preview version at zero copies, lets it idle at zero, and lets the endpoint reach zero instances when all are', () => {
    const preview = {
      ...catalog,
      versions: [version(stage, 'ocr', 'a', { status: 'preview' }), version(stage, 'ocr', 'b')],
    };
    const [endpoint] = planEndpoints(preview, { 'ocr@a': gpu, 'ocr@b': gpu });
    const [a, b] = endpoint!.components;
    expect(a).toMatchObject({
      scalesToZero: true,
      deployment: { initialCopies: 0, minCopies: 0, maxCopies: 2 },
    });
    expect(b).toMatchObject({
      scalesToZero: false,
      deployment: { initialCopies: 1, minCopies: 1, maxCopies: 2 },
    });
    expect(endpoint!.instances).toEqual({ initial: 1, min: 1, max: 4 });

    const allPreview = {
      ...catalog,
      versions: [
        version(stage, 'ocr', 'a', { status: 'preview' }),
        version(stage, 'ocr', 'b', { status: 'preview' }),
      ],
    };
    // Created with one instance (SageMaker's floor), free to go to none while nothing is called.
    expect(planEndpoints(allPreview, { 'ocr@a': gpu, 'ocr@b': gpu })[0]!.instances).toEqual({
      initial: 1,
      min: 0,
      max: 4,
    });
  });

  it('caps copies and instances at the stage maximum, and refuses initial copies past it', () => {
    const [endpoint] = planEndpoints(catalog, both, { maxInstancesPerEndpoint: 1 });
    for (const c of endpoint!.components) {
      expect(c.deployment).toMatchObject({ initialCopies: 1, minCopies: 1, maxCopies: 1 });
    }
    expect(endpoint!.instances).toEqual({ initial: 1, min: 1, max: 1 });
    // Two GPU versions of one copy each need two instances: a cap of one cannot start them.
    expect(() =>
      planEndpoints(catalog, { 'ocr@a': gpu, 'ocr@b': gpu }, { maxInstancesPerEndpoint: 1 }),
    ).toThrow(/initial copies need 2 instances, more than the stage allows per endpoint \(1\)/);
  });

  it('skips retired versions: nothing routes to them', () => {
    const retired = {
      models: [model('ocr', 'ocr', 'b')],
      versions: [version(stage, 'ocr', 'a', { status: 'retired' }), version(stage, 'ocr', 'b')],
    };
    expect(planEndpoints(retired, both)[0]!.components.map((c) => c.key)).toEqual(['ocr@b']);
  });
});

describe('instancesNeeded', () => {
  const c5 = instanceCapacity['ml.c5.xlarge']!;
  it('packs copies first-fit, largest first, by GPUs, cores and memory', () => {
    expect(instancesNeeded([], c5)).toBe(0);
    const one = { cpuCores: 1, memoryMb: 1_024 };
    const two = { cpuCores: 2, memoryMb: 2_048 };
    expect(instancesNeeded([one, one, one, one], c5)).toBe(1);
    expect(instancesNeeded([one, two, one, two], c5)).toBe(2);
    expect(
      instancesNeeded(
        [
          { cpuCores: 1, memoryMb: 5_000 },
          { cpuCores: 1, memoryMb: 5_000 },
        ],
        c5,
      ),
    ).toBe(2);
    const g6 = instanceCapacity['ml.g6.xlarge']!;
    const gpuCopy = { acceleratorDevices: 1, cpuCores: 2, memoryMb: 4_096 };
    // A CPU copy shares the GPU instance's spare cores; a second GPU copy needs another instance.
    expect(instancesNeeded([gpuCopy, one], g6)).toBe(1);
    expect(instancesNeeded([gpuCopy, gpuCopy, one], g6)).toBe(2);
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
