import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { type EndpointPlan, planEndpoints, versionKey } from '../../infra/model-endpoints';
import {
  dlcRepositories,
  endpointLogGroupName,
  ModelsStack,
  variantInvocationsMetric,
  variantResourceId,
  variantScalableDimension,
} from '../../infra/stacks/models-stack';
import {
  defaultImageTags,
  type ModelDeployment,
  modelDeployments,
  proposedDeployments,
} from '../../shared/catalog/deployment';
import { seedCatalog } from '../../shared/catalog/seed';
import type { ModelDefinition } from '../../shared/catalog/types';
import { extendedCatalog, model, version } from './catalog-fixtures';
import { asArray, type Cfn, render, templates, testEnv, testModelServerTag } from './helpers';

/** The spec of initial weights: the model's traffic split if any weight is positive, else the default version. */
function expectedWeight(m: ModelDefinition, versionId: string): number {
  const traffic = (m as { traffic?: Record<string, number> }).traffic ?? {};
  if (Object.values(traffic).some((w) => w > 0)) return traffic[versionId] ?? 0;
  return versionId === m.defaultVersion ? 1 : 0;
}

/** Resources of a type, by logical id. */
const resources = (template: Template, type: string): Record<string, Cfn> => template.findResources(type);

/** The endpoint resource, its config and the models behind each variant, by endpoint name. */
function endpointsOf(template: Template) {
  const configs = resources(template, 'AWS::SageMaker::EndpointConfig');
  const models = resources(template, 'AWS::SageMaker::Model');
  return Object.values(resources(template, 'AWS::SageMaker::Endpoint')).map((endpoint: Cfn) => {
    const configId = endpoint.Properties.EndpointConfigName['Fn::GetAtt'][0];
    const variants = (configs[configId].Properties.ProductionVariants as Cfn[]).map((variant) => {
      const modelId = variant.ModelName['Fn::GetAtt'][0];
      return { variant, modelId, model: models[modelId] };
    });
    return { name: endpoint.Properties.EndpointName as string, endpoint, configId, variants };
  });
}

function roleStatements(template: Template, roleId: string): Cfn[] {
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy: Cfn) => policy.Properties.Roles.some((r: Cfn) => r.Ref === roleId))
    .flatMap((policy: Cfn) => policy.Properties.PolicyDocument.Statement);
}

function synthModels(stage: 'dev' | 'prod', endpoints: EndpointPlan[]): Template {
  const app = new App();
  const stack = new ModelsStack(app, 'Models', { env: testEnv, config: stageConfig(stage), endpoints });
  return Template.fromStack(stack);
}

describe.each(stages)('models stack (%s)', (stage) => {
  const config = stageConfig(stage);
  const { models: template, stacks } = templates(stage);
  const seed = seedCatalog(stage);
  const hosted = seed.versions.filter((v) => v.status !== 'retired');
  const cap = config.models.maxInstancesPerVariant ?? Number.POSITIVE_INFINITY;
  const endpoints = endpointsOf(template);

  it('is named Tollgate-<Stage>-Models and creates one endpoint per seed endpoint name', () => {
    expect(stacks.models!.stackName).toBe(`Tollgate-${stage === 'dev' ? 'Dev' : 'Prod'}-Models`);
    expect(endpoints.map((e) => e.name).sort()).toEqual(
      [...new Set(hosted.map((v) => v.endpointName))].sort(),
    );
    template.resourceCountIs('AWS::SageMaker::EndpointConfig', endpoints.length);
    template.resourceCountIs('AWS::SageMaker::Model', hosted.length);
  });

  it.each(hosted.map((v) => [versionKey(v), v] as const))(
    '%s is a production variant of its endpoint, on its deployment',
    (key, v) => {
      const deployment = modelDeployments[key]!;
      const endpoint = endpoints.find((e) => e.name === v.endpointName)!;
      const entry = endpoint.variants.find((x) => x.variant.VariantName === v.variant);
      expect(entry, `variant ${v.variant}`).toBeDefined();
      expect(entry!.variant).toMatchObject({
        InstanceType: deployment.instanceType,
        InitialInstanceCount: Math.min(deployment.initialInstanceCount, cap),
        RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
      });
      // Only calls without TargetVariant use the weights (the gateway always sends one).
      const m = seed.models.find((x) => x.name === v.model)!;
      expect(entry!.variant.InitialVariantWeight).toBe(expectedWeight(m, v.version));

      const container = entry!.model.Properties.PrimaryContainer;
      if (deployment.image.kind === 'hf-tgi') {
        expect(container.Environment).toMatchObject({
          HF_MODEL_ID: deployment.image.hfModelId,
          SM_NUM_GPUS: String(deployment.image.numGpus),
          MESSAGES_API_ENABLED: 'true',
        });
        expect(render(container.Image)).toBe(
          `763104351884.dkr.ecr.${testEnv.region}.\${AWS::URLSuffix}/${dlcRepositories['hf-tgi']}:${defaultImageTags['hf-tgi']}`,
        );
        // The weights come from the Hub at start.
        expect(entry!.model.Properties.EnableNetworkIsolation).toBe(false);
      } else {
        expect(container.Environment.TOLLGATE_MODEL_VERSION).toBe(key);
        expect(render(container.Image)).toBe(
          `\${AWS::AccountId}.dkr.ecr.${testEnv.region}.\${AWS::URLSuffix}/${config.models.modelServerImage.repositoryName}:${testModelServerTag}`,
        );
        expect(entry!.model.Properties.EnableNetworkIsolation).toBe(true);
      }
      // Immutable resources get generated names so a change can replace them.
      expect(entry!.model.Properties.ModelName).toBeUndefined();
    },
  );

  it.each(hosted.map((v) => [versionKey(v), v] as const))(
    '%s scales on invocations per instance within its bounds',
    (key, v) => {
      const deployment = modelDeployments[key]!;
      const targets = Object.entries(
        resources(template, 'AWS::ApplicationAutoScaling::ScalableTarget'),
      ).filter(
        ([, t]: [string, Cfn]) => t.Properties.ResourceId === variantResourceId(v.endpointName, v.variant),
      );
      expect(targets).toHaveLength(1);
      const [targetId, target] = targets[0]!;
      expect(target.Properties).toMatchObject({
        ServiceNamespace: 'sagemaker',
        ScalableDimension: variantScalableDimension,
        ResourceId: `endpoint/${v.endpointName}/variant/${v.variant}`,
        MinCapacity: Math.min(deployment.minCapacity, cap),
        MaxCapacity: Math.min(deployment.maxCapacity, cap),
      });
      // No role of ours: Application Auto Scaling uses its service-linked role for SageMaker.
      expect(target.Properties.RoleARN).toBeUndefined();
      // Registered only once the endpoint (and so the variant) exists.
      const endpointId = endpoints.find((e) => e.name === v.endpointName)!;
      const endpointLogicalId = Object.entries(resources(template, 'AWS::SageMaker::Endpoint')).find(
        ([, e]: [string, Cfn]) => e === endpointId.endpoint,
      )![0];
      expect(asArray(target.DependsOn)).toContain(endpointLogicalId);

      const policies = Object.values(
        resources(template, 'AWS::ApplicationAutoScaling::ScalingPolicy'),
      ).filter((p: Cfn) => p.Properties.ScalingTargetId.Ref === targetId);
      expect(policies).toHaveLength(1);
      expect(policies[0].Properties).toMatchObject({
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: deployment.targetInvocationsPerInstance,
          PredefinedMetricSpecification: { PredefinedMetricType: variantInvocationsMetric },
        },
      });
    },
  );

  it('gives each endpoint its own execution role: its images, its logs, nothing else', () => {
    const roleIds = new Set<string>();
    for (const endpoint of endpoints) {
      const roleArns = new Set(
        endpoint.variants.map((v) => JSON.stringify(v.model.Properties.ExecutionRoleArn)),
      );
      expect(roleArns.size).toBe(1);
      const roleId = endpoint.variants[0]!.model.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
      roleIds.add(roleId);
      const role = resources(template, 'AWS::IAM::Role')[roleId];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } },
      ]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      // Models wait for the role's policy: SageMaker checks image access when it creates them.
      for (const v of endpoint.variants) expect(asArray(v.model.DependsOn).length).toBeGreaterThan(0);

      const statements = roleStatements(template, roleId);
      const bySid = Object.fromEntries(statements.map((s: Cfn) => [s.Sid, s]));
      expect(Object.keys(bySid).sort()).toEqual(['EcrLogin', 'InstanceMetrics', 'PullImages', 'WriteLogs']);
      const kinds = new Set(
        hosted
          .filter((v) => v.endpointName === endpoint.name)
          .map((v) => modelDeployments[versionKey(v)]!.image.kind),
      );
      expect(asArray(bySid.PullImages.Resource).map(render).sort()).toEqual(
        [
          ...(kinds.has('model-server')
            ? [
                `arn:aws:ecr:${testEnv.region}:${testEnv.account}:repository/${config.models.modelServerImage.repositoryName}`,
              ]
            : []),
          ...(kinds.has('hf-tgi')
            ? [
                `arn:\${AWS::Partition}:ecr:${testEnv.region}:763104351884:repository/${dlcRepositories['hf-tgi']}`,
              ]
            : []),
        ].sort(),
      );
      expect(bySid.EcrLogin).toMatchObject({ Action: 'ecr:GetAuthorizationToken', Resource: '*' });
      expect(bySid.InstanceMetrics).toMatchObject({
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
      });
      const logGroupId = bySid.WriteLogs.Resource['Fn::GetAtt'][0];
      const logGroup = resources(template, 'AWS::Logs::LogGroup')[logGroupId];
      expect(logGroup.Properties).toMatchObject({
        LogGroupName: endpointLogGroupName(endpoint.name),
        RetentionInDays: config.logRetentionDays,
      });
      expect(logGroup.DeletionPolicy).toBe(stage === 'prod' ? 'Retain' : 'Delete');
    }
    expect(roleIds.size).toBe(endpoints.length);
    template.resourceCountIs('AWS::IAM::Role', endpoints.length);
  });

  it('names the endpoints, points them at their config, keeps scaled counts across updates', () => {
    for (const endpoint of endpoints) {
      expect(endpoint.endpoint.Properties).toEqual({
        EndpointName: endpoint.name,
        EndpointConfigName: { 'Fn::GetAtt': [endpoint.configId, 'EndpointConfigName'] },
        RetainAllVariantProperties: true,
        Tags: expect.arrayContaining([{ Key: 'stage', Value: stage }]),
      });
    }
  });

  it('outputs every endpoint name', () => {
    const outputs = Object.values(template.findOutputs('*')) as Cfn[];
    const names = outputs.map((o) => o.Value['Fn::GetAtt']).filter(Boolean);
    expect(names).toHaveLength(endpoints.length);
    for (const output of outputs)
      expect(output.Export.Name).toMatch(new RegExp(`^${stacks.models!.stackName}-`));
  });
});

describe('models stack with the versions being added (vision, OCR, chat) and a TGI chat version', () => {
  const stage = 'prod';
  const deployments = { ...modelDeployments, ...proposedDeployments };
  const plan = planEndpoints(extendedCatalog(stage), deployments);
  const template = synthModels(stage, plan);
  const endpoints = endpointsOf(template);
  const variantsOf = (model: string) =>
    endpoints
      .find((e) => e.name === `tollgate-${stage}-${model}`)!
      .variants.map((v) => v.variant.VariantName);

  it('puts every version of a model on its endpoint as a variant', () => {
    const catalog = extendedCatalog(stage);
    for (const name of ['image-moderation', 'ocr', 'chat']) {
      const expected = catalog.versions
        .filter((v) => v.model === name && v.status !== 'retired')
        .map((v) => v.variant);
      expect(variantsOf(name), name).toEqual(expected);
    }
    expect(variantsOf('image-moderation')).toEqual(
      expect.arrayContaining(['mobilenet-v2', 'mobilenet-v2-mid', 'inception-v3']),
    );
    expect(variantsOf('ocr')).toEqual(expect.arrayContaining(['ppocr-v4', 'tesseract-5']));
    expect(variantsOf('chat')).toEqual(expect.arrayContaining(['tiny-1', 'smollm2-1-7b']));
  });

  it('runs the TGI version on a GPU instance from the regional DLC, with its token limits', () => {
    const chat = endpoints.find((e) => e.name === `tollgate-${stage}-chat`)!;
    const tgi = chat.variants.find((v) => v.variant.VariantName === 'smollm2-1-7b')!;
    const deployment = proposedDeployments['chat@smollm2-1-7b']!;
    expect(deployment.image.kind).toBe('hf-tgi');
    expect(tgi.variant).toMatchObject({
      InstanceType: 'ml.g5.xlarge',
      ContainerStartupHealthCheckTimeoutInSeconds: 900,
      InitialVariantWeight: 0,
    });
    const container = tgi.model.Properties.PrimaryContainer;
    expect(render(container.Image)).toBe(
      `763104351884.dkr.ecr.${testEnv.region}.\${AWS::URLSuffix}/${dlcRepositories['hf-tgi']}:${defaultImageTags['hf-tgi']}`,
    );
    expect(container.Environment).toEqual({
      HF_MODEL_ID: 'HuggingFaceTB/SmolLM2-1.7B-Instruct',
      SM_NUM_GPUS: '1',
      MAX_INPUT_TOKENS: '6144',
      MAX_TOTAL_TOKENS: '8192',
      MESSAGES_API_ENABLED: 'true',
    });
    // It downloads from the Hub at start, so it needs the network.
    expect(tgi.model.Properties.EnableNetworkIsolation).toBe(false);

    // The chat role may pull both the model server and the TGI image, from their own registries.
    const roleId = tgi.model.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
    const pull = roleStatements(template, roleId).find((s: Cfn) => s.Sid === 'PullImages');
    expect(asArray(pull.Resource).map(render).sort()).toEqual(
      [
        `arn:\${AWS::Partition}:ecr:${testEnv.region}:${testEnv.account}:repository/tollgate-model-server`,
        `arn:\${AWS::Partition}:ecr:${testEnv.region}:763104351884:repository/${dlcRepositories['hf-tgi']}`,
      ].sort(),
    );
  });

  it('weights untargeted calls by the traffic split, or all to the default version', () => {
    const catalog = extendedCatalog(stage);
    for (const endpoint of endpoints) {
      for (const { variant } of endpoint.variants) {
        const v = catalog.versions.find(
          (x) => x.endpointName === endpoint.name && x.variant === variant.VariantName,
        )!;
        const m = catalog.models.find((x) => x.name === v.model)!;
        expect(variant.InitialVariantWeight, versionKey(v)).toBe(expectedWeight(m, v.version));
      }
    }
  });
});

describe('models stack: weights, S3 weights and foreign images', () => {
  const stage = 'dev';
  const base: ModelDeployment = {
    instanceType: 'ml.g4dn.xlarge',
    initialInstanceCount: 1,
    minCapacity: 1,
    maxCapacity: 2,
    targetInvocationsPerInstance: 100,
    image: { kind: 'model-server' },
  };
  const catalog = {
    models: [
      { ...model('image-moderation', 'image-moderation', 'a'), traffic: { a: 90, b: 10 } },
      model('ocr', 'ocr', 'tar'),
    ],
    versions: [
      version(stage, 'image-moderation', 'a'),
      version(stage, 'image-moderation', 'b'),
      version(stage, 'image-moderation', 'old', { status: 'retired' }),
      version(stage, 'ocr', 'tar'),
      version(stage, 'ocr', 'prefix'),
      version(stage, 'ocr', 'foreign'),
    ],
  };
  const deployments: Record<string, ModelDeployment> = {
    'image-moderation@a': base,
    'image-moderation@b': base,
    'ocr@tar': {
      ...base,
      image: { kind: 'hf-inference', hfTask: 'image-to-text', imageTag: 'custom-tag' },
      modelDataUrl: 's3://tollgate-weights/ocr/tar/model.tar.gz',
    },
    'ocr@prefix': {
      ...base,
      image: { kind: 'hf-tgi', numGpus: 1, maxInputTokens: 1_000, maxTotalTokens: 2_000 },
      modelDataUrl: 's3://tollgate-weights/ocr/prefix/',
    },
    'ocr@foreign': {
      ...base,
      image: {
        kind: 'model-server',
        imageUri: '210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/ocr:1.2.3',
      },
      environment: { EXTRA: 'yes' },
    },
  };
  const template = synthModels(stage, planEndpoints(catalog, deployments));
  const endpoints = endpointsOf(template);
  const variant = (name: string) =>
    endpoints.flatMap((e) => e.variants).find((v) => v.variant.VariantName === name)!;

  it("takes initial weights from the model's traffic split when it declares one; skips retired versions", () => {
    expect(variant('a').variant.InitialVariantWeight).toBe(90);
    expect(variant('b').variant.InitialVariantWeight).toBe(10);
    expect(variant('old')).toBeUndefined();
    template.resourceCountIs('AWS::SageMaker::Model', 5);
  });

  it('reads compressed weights by URL and uncompressed weights by prefix, in network isolation', () => {
    const tar = variant('tar').model.Properties;
    expect(tar.PrimaryContainer).toMatchObject({
      ModelDataUrl: 's3://tollgate-weights/ocr/tar/model.tar.gz',
      Environment: { HF_MODEL_ID: '/opt/ml/model', HF_TASK: 'image-to-text' },
    });
    expect(render(tar.PrimaryContainer.Image)).toBe(
      `763104351884.dkr.ecr.${testEnv.region}.\${AWS::URLSuffix}/${dlcRepositories['hf-inference']}:custom-tag`,
    );
    expect(tar.EnableNetworkIsolation).toBe(true);

    const prefix = variant('prefix').model.Properties;
    expect(prefix.PrimaryContainer.ModelDataSource).toEqual({
      S3DataSource: {
        S3Uri: 's3://tollgate-weights/ocr/prefix/',
        S3DataType: 'S3Prefix',
        CompressionType: 'None',
      },
    });
    expect(prefix.PrimaryContainer.ModelDataUrl).toBeUndefined();
    expect(prefix.EnableNetworkIsolation).toBe(true);

    const roleId = tar.ExecutionRoleArn['Fn::GetAtt'][0];
    const statements = roleStatements(template, roleId);
    const read = statements.find((s: Cfn) => s.Sid === 'ReadWeights');
    expect(asArray(read.Action)).toEqual(['s3:GetObject']);
    expect(asArray(read.Resource).map(render).sort()).toEqual(
      [
        `arn:\${AWS::Partition}:s3:::tollgate-weights/ocr/prefix/*`,
        `arn:\${AWS::Partition}:s3:::tollgate-weights/ocr/tar/model.tar.gz`,
      ].sort(),
    );
    const list = statements.find((s: Cfn) => asArray(s.Action).includes('s3:ListBucket'));
    expect(render(list.Resource)).toBe(`arn:\${AWS::Partition}:s3:::tollgate-weights`);
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['ocr/prefix/*'] } });
  });

  it('pulls a model server image from another registry when a version names one', () => {
    const foreign = variant('foreign').model.Properties;
    expect(foreign.PrimaryContainer.Image).toBe(
      '210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/ocr:1.2.3',
    );
    expect(foreign.PrimaryContainer.Environment).toEqual({
      TOLLGATE_MODEL_VERSION: 'ocr@foreign',
      EXTRA: 'yes',
    });
    const roleId = foreign.ExecutionRoleArn['Fn::GetAtt'][0];
    const pull = roleStatements(template, roleId).find((s: Cfn) => s.Sid === 'PullImages');
    expect(asArray(pull.Resource).map(render)).toContain(
      `arn:\${AWS::Partition}:ecr:eu-west-1:210987654321:repository/shared/ocr`,
    );
  });
});
