import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import {
  componentAlarmNames,
  type EndpointPlan,
  endpointVariantName,
  planEndpoints,
  versionKey,
} from '../../infra/model-endpoints';
import {
  componentConcurrencyMetric,
  componentResourceId,
  componentScalableDimension,
  dlcRepositories,
  endpointLogGroupName,
  ModelsStack,
} from '../../infra/stacks/models-stack';
import {
  defaultImageTags,
  inferenceComponentName,
  type ModelDeployment,
  modelDeployments,
  proposedDeployments,
} from '../../shared/catalog/deployment';
import { seedCatalog } from '../../shared/catalog/seed';
import { extendedCatalog, model, version } from './catalog-fixtures';
import { asArray, type Cfn, render, templates, testEnv, testModelServerTag } from './helpers';

/** Resources of a type, by logical id. */
const resources = (template: Template, type: string): Record<string, Cfn> => template.findResources(type);

/** Each endpoint with its config, and each inference component on it with its model, by endpoint name. */
function endpointsOf(template: Template) {
  const configs = resources(template, 'AWS::SageMaker::EndpointConfig');
  const models = resources(template, 'AWS::SageMaker::Model');
  const components = Object.entries(resources(template, 'AWS::SageMaker::InferenceComponent'));
  return Object.entries(resources(template, 'AWS::SageMaker::Endpoint')).map(([endpointId, endpoint]) => {
    const configId = endpoint.Properties.EndpointConfigName['Fn::GetAtt'][0];
    const onIt = components
      .filter(([, c]) => c.Properties.EndpointName['Fn::GetAtt']?.[0] === endpointId)
      .map(([componentId, component]) => {
        const modelId = component.Properties.Specification.ModelName['Fn::GetAtt'][0];
        return {
          componentId,
          component,
          name: component.Properties.InferenceComponentName as string,
          modelId,
          model: models[modelId],
        };
      });
    return {
      name: endpoint.Properties.EndpointName as string,
      endpointId,
      endpoint,
      configId,
      config: configs[configId],
      components: onIt,
    };
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
  const { models: template, observability, stacks } = templates(stage);
  const seed = seedCatalog(stage);
  const hosted = seed.versions.filter((v) => v.status !== 'retired');
  const cap = config.models.maxInstancesPerEndpoint ?? Number.POSITIVE_INFINITY;
  const endpoints = endpointsOf(template);
  const plans = stacks.endpoints;

  it('is named Tollgate-<Stage>-Models and creates one endpoint per seed endpoint name, one component per version', () => {
    expect(stacks.models!.stackName).toBe(`Tollgate-${stage === 'dev' ? 'Dev' : 'Prod'}-Models`);
    expect(endpoints.map((e) => e.name).sort()).toEqual(
      [...new Set(hosted.map((v) => v.endpointName))].sort(),
    );
    template.resourceCountIs('AWS::SageMaker::EndpointConfig', endpoints.length);
    template.resourceCountIs('AWS::SageMaker::Model', hosted.length);
    template.resourceCountIs('AWS::SageMaker::InferenceComponent', hosted.length);
  });

  it('gives each endpoint one managed variant of one instance type, sized from its copies', () => {
    for (const endpoint of endpoints) {
      const plan = plans.find((p) => p.endpointName === endpoint.name)!;
      const types = new Set(
        hosted
          .filter((v) => v.endpointName === endpoint.name)
          .map((v) => modelDeployments[versionKey(v)]!.instanceType),
      );
      expect(types.size, endpoint.name).toBe(1);
      expect(endpoint.config.Properties.ExecutionRoleArn['Fn::GetAtt'][1]).toBe('Arn');
      expect(endpoint.config.Properties.ProductionVariants).toEqual([
        {
          VariantName: endpointVariantName,
          InstanceType: [...types][0],
          InitialInstanceCount: plan.instances.initial,
          ManagedInstanceScaling: {
            Status: 'ENABLED',
            MinInstanceCount: plan.instances.min,
            MaxInstanceCount: plan.instances.max,
          },
          RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
        },
      ]);
      expect(plan.instances.max).toBeLessThanOrEqual(cap);
      expect(plan.instances.initial).toBeGreaterThanOrEqual(1);
      expect(plan.instances.min).toBeLessThanOrEqual(plan.instances.initial);
      // An endpoint of only preview versions may idle at no instance at all.
      const allPreview = hosted
        .filter((v) => v.endpointName === endpoint.name)
        .every((v) => v.status === 'preview');
      expect(plan.instances.min === 0).toBe(allPreview);
    }
  });

  it.each(hosted.map((v) => [versionKey(v), v] as const))(
    '%s is an inference component of its endpoint: its model, what a copy reserves, its copies',
    (key, v) => {
      const deployment = modelDeployments[key]!;
      const endpoint = endpoints.find((e) => e.name === v.endpointName)!;
      const entry = endpoint.components.find((c) => c.name === inferenceComponentName(v));
      expect(entry, inferenceComponentName(v)).toBeDefined();
      const props = entry!.component.Properties;
      expect(props.VariantName).toBe(endpointVariantName);
      const { acceleratorDevices, cpuCores, memoryMb } = deployment.resources;
      expect(props.Specification.ComputeResourceRequirements).toEqual({
        ...(acceleratorDevices ? { NumberOfAcceleratorDevicesRequired: acceleratorDevices } : {}),
        NumberOfCpuCoresRequired: cpuCores,
        MinMemoryRequiredInMb: memoryMb,
      });
      // A preview version starts cold; the others with their initial copies (capped in dev).
      expect(props.RuntimeConfig).toEqual({
        CopyCount: v.status === 'preview' ? 0 : Math.min(deployment.initialCopies, cap),
      });
      if (deployment.startupHealthCheckTimeoutSeconds) {
        expect(props.Specification.StartupParameters).toEqual({
          ContainerStartupHealthCheckTimeoutInSeconds: deployment.startupHealthCheckTimeoutSeconds,
        });
      }

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
      // Immutable models get generated names so a change can replace them.
      expect(entry!.model.Properties.ModelName).toBeUndefined();
    },
  );

  it('runs the chat versions in TGI on GPU instances, by Hugging Face model id, one GPU per copy', () => {
    const chatTgi = hosted.filter(
      (v) => v.model === 'chat' && modelDeployments[versionKey(v)]!.image.kind === 'hf-tgi',
    );
    expect(chatTgi.map(versionKey).sort()).toEqual(['chat@smollm2-135m', 'chat@smollm2-360m']);
    for (const v of chatTgi) {
      const endpoint = endpoints.find((e) => e.name === v.endpointName)!;
      expect(endpoint.config.Properties.ProductionVariants[0].InstanceType).toMatch(/^ml\.g(5|6|6e)\./);
      const entry = endpoint.components.find((c) => c.name === inferenceComponentName(v))!;
      expect(
        entry.component.Properties.Specification.ComputeResourceRequirements
          .NumberOfAcceleratorDevicesRequired,
      ).toBe(1);
      expect(entry.model.Properties.PrimaryContainer.Environment.HF_MODEL_ID).toMatch(
        /^HuggingFaceTB\/SmolLM2-(135M|360M)-Instruct$/,
      );
    }
    // The offline test model stays on the model server's CPU path: it reserves no GPU.
    const tiny = endpoints
      .flatMap((e) => e.components)
      .find((c) => c.name === inferenceComponentName(hosted.find((v) => versionKey(v) === 'chat@tiny-1')!))!;
    expect(
      tiny.component.Properties.Specification.ComputeResourceRequirements.NumberOfAcceleratorDevicesRequired,
    ).toBeUndefined();
    expect(tiny.model.Properties.PrimaryContainer.Environment.TOLLGATE_MODEL_VERSION).toBe('chat@tiny-1');
  });

  it.each(hosted.map((v) => [versionKey(v), v] as const))(
    '%s releases by rolling update, one copy at a time, and rolls back on its own latency and 5xx alarms',
    (_key, v) => {
      const component = endpoints
        .flatMap((e) => e.components)
        .find((c) => c.name === inferenceComponentName(v))!;
      const names = componentAlarmNames(stage, inferenceComponentName(v));
      const deploymentConfig = component.component.Properties.DeploymentConfig;
      expect(deploymentConfig.RollingUpdatePolicy).toMatchObject({
        MaximumBatchSize: { Type: 'COPY_COUNT', Value: 1 },
        WaitIntervalInSeconds: config.models.releaseBakeSeconds,
        RollbackMaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: 100 },
      });
      const timeout = deploymentConfig.RollingUpdatePolicy.MaximumExecutionTimeoutInSeconds;
      expect(timeout).toBeGreaterThanOrEqual(600);
      expect(timeout).toBeLessThanOrEqual(28_800);
      expect(deploymentConfig.AutoRollbackConfiguration.Alarms).toEqual([
        { AlarmName: names.errorRate },
        { AlarmName: names.latency },
      ]);
      // The alarms it names are the Observability stack's, which deploys first.
      const observed = Object.values(observability.findResources('AWS::CloudWatch::Alarm')).map(
        (a: Cfn) => a.Properties.AlarmName,
      );
      expect(observed).toEqual(expect.arrayContaining([names.errorRate, names.latency]));
    },
  );

  it('deploys after the Observability stack, whose alarms the rollbacks name', () => {
    expect(stacks.models!.dependencies).toContain(stacks.observability);
    expect(stacks.observability.dependencies).not.toContain(stacks.models);
  });

  it.each(hosted.map((v) => [versionKey(v), v] as const))(
    '%s scales its copies on concurrent requests per copy, within its bounds',
    (key, v) => {
      const deployment = modelDeployments[key]!;
      const name = inferenceComponentName(v);
      const targets = Object.entries(
        resources(template, 'AWS::ApplicationAutoScaling::ScalableTarget'),
      ).filter(([, t]: [string, Cfn]) => t.Properties.ResourceId === componentResourceId(name));
      expect(targets).toHaveLength(1);
      const [targetId, target] = targets[0]!;
      const maxCopies = Math.min(deployment.maxCopies, cap);
      expect(target.Properties).toMatchObject({
        ServiceNamespace: 'sagemaker',
        ScalableDimension: componentScalableDimension,
        ResourceId: `inference-component/${name}`,
        MinCapacity: v.status === 'preview' ? 0 : Math.min(deployment.minCopies, maxCopies),
        MaxCapacity: maxCopies,
      });
      // No role of ours: Application Auto Scaling uses its service-linked role for SageMaker.
      expect(target.Properties.RoleARN).toBeUndefined();
      // Registered only once the component exists.
      const component = endpoints.flatMap((e) => e.components).find((c) => c.name === name)!;
      expect(asArray(target.DependsOn)).toContain(component.componentId);

      const policies = Object.values(
        resources(template, 'AWS::ApplicationAutoScaling::ScalingPolicy'),
      ).filter((p: Cfn) => p.Properties.ScalingTargetId.Ref === targetId);
      const tracking = policies.filter((p: Cfn) => p.Properties.PolicyType === 'TargetTrackingScaling');
      expect(tracking).toHaveLength(1);
      expect(tracking[0].Properties.TargetTrackingScalingPolicyConfiguration).toMatchObject({
        TargetValue: deployment.targetConcurrentRequestsPerCopy,
        PredefinedMetricSpecification: { PredefinedMetricType: componentConcurrencyMetric },
      });
      expect(componentConcurrencyMetric).toBe(
        'SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution',
      );

      // Scale to zero and back: only a preview version, woken by the alarm on calls refused for want of a copy.
      const steps = policies.filter((p: Cfn) => p.Properties.PolicyType === 'StepScaling');
      const wakeAlarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).filter(
        (a: Cfn) => a.Properties.AlarmName === componentAlarmNames(stage, name).wake,
      );
      if (v.status !== 'preview') {
        expect(steps).toEqual([]);
        expect(wakeAlarms).toEqual([]);
        return;
      }
      expect(steps).toHaveLength(1);
      expect(steps[0].Properties.StepScalingPolicyConfiguration).toEqual({
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Maximum',
        Cooldown: 60,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      });
      const stepId = Object.entries(resources(template, 'AWS::ApplicationAutoScaling::ScalingPolicy')).find(
        ([, p]) => p === steps[0],
      )![0];
      expect(wakeAlarms).toHaveLength(1);
      expect(wakeAlarms[0].Properties).toMatchObject({
        Namespace: 'AWS/SageMaker',
        MetricName: 'NoCapacityInvocationFailures',
        Dimensions: [{ Name: 'InferenceComponentName', Value: name }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ 'Fn::GetAtt': [stepId, 'Arn'] }],
      });
    },
  );

  it('gives each endpoint its own execution role: its images, its logs, nothing else', () => {
    const roleIds = new Set<string>();
    for (const endpoint of endpoints) {
      const roleArns = new Set(
        endpoint.components.map((c) => JSON.stringify(c.model.Properties.ExecutionRoleArn)),
      );
      roleArns.add(JSON.stringify(endpoint.config.Properties.ExecutionRoleArn));
      expect(roleArns.size).toBe(1);
      const roleId = endpoint.config.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
      roleIds.add(roleId);
      const role = resources(template, 'AWS::IAM::Role')[roleId];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } },
      ]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      // Models and the endpoint config wait for the role's policy: SageMaker checks image access when it creates them.
      for (const c of endpoint.components) expect(asArray(c.model.DependsOn).length).toBeGreaterThan(0);
      expect(asArray(endpoint.config.DependsOn).length).toBeGreaterThan(0);

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

  it('names the endpoints and points them at their config', () => {
    for (const endpoint of endpoints) {
      expect(endpoint.endpoint.Properties).toEqual({
        EndpointName: endpoint.name,
        EndpointConfigName: { 'Fn::GetAtt': [endpoint.configId, 'EndpointConfigName'] },
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
  const componentsOf = (model: string) =>
    endpoints.find((e) => e.name === `tollgate-${stage}-${model}`)!.components.map((c) => c.name);

  it('puts every version of a model on its endpoint as an inference component', () => {
    const catalog = extendedCatalog(stage);
    for (const name of ['image-moderation', 'ocr', 'chat']) {
      const expected = catalog.versions
        .filter((v) => v.model === name && v.status !== 'retired')
        .map((v) => inferenceComponentName(v));
      expect(componentsOf(name).sort(), name).toEqual(expected.sort());
    }
    expect(componentsOf('chat')).toEqual(
      expect.arrayContaining([`tollgate-${stage}-chat-tiny-1`, `tollgate-${stage}-chat-smollm2-1-7b`]),
    );
  });

  it('runs the proposed TGI version on a GPU from the regional DLC, with its token limits, cold until called', () => {
    const chat = endpoints.find((e) => e.name === `tollgate-${stage}-chat`)!;
    const tgi = chat.components.find((c) => c.name === `tollgate-${stage}-chat-smollm2-1-7b`)!;
    const deployment = proposedDeployments['chat@smollm2-1-7b']!;
    expect(deployment.image.kind).toBe('hf-tgi');
    expect(chat.config.Properties.ProductionVariants[0].InstanceType).toBe(deployment.instanceType);
    expect(tgi.component.Properties).toMatchObject({
      Specification: {
        ComputeResourceRequirements: { NumberOfAcceleratorDevicesRequired: 1 },
        StartupParameters: { ContainerStartupHealthCheckTimeoutInSeconds: 900 },
      },
      // A preview version in the catalog: no copy until its first call.
      RuntimeConfig: { CopyCount: 0 },
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
});

describe('models stack: S3 weights and foreign images', () => {
  const stage = 'dev';
  const base: ModelDeployment = {
    instanceType: 'ml.g4dn.xlarge',
    resources: { acceleratorDevices: 1, cpuCores: 1, memoryMb: 2_048 },
    initialCopies: 1,
    minCopies: 1,
    maxCopies: 2,
    targetConcurrentRequestsPerCopy: 4,
    image: { kind: 'model-server' },
  };
  const catalog = {
    models: [model('image-moderation', 'image-moderation', 'a'), model('ocr', 'ocr', 'tar')],
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
    endpoints.flatMap((e) => e.components).find((c) => c.name.endsWith(`-${name}`))!;

  it('skips retired versions', () => {
    expect(variant('old')).toBeUndefined();
    template.resourceCountIs('AWS::SageMaker::Model', 5);
    template.resourceCountIs('AWS::SageMaker::InferenceComponent', 5);
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
