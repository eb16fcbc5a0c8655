import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { CfnAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnInferenceComponent, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import { defaultImageTags, type ModelDeployment } from '../../shared/catalog/deployment';
import type { StageConfig } from '../config';
import {
  type ComponentPlan,
  componentAlarmNames,
  type EndpointPlan,
  endpointVariantName,
  parseEcrImage,
  parseS3Url,
} from '../model-endpoints';

export interface ModelsStackProps extends StackProps {
  config: StageConfig;
  /** From planEndpoints(seedCatalog(stage), modelDeployments): the endpoints and their components. */
  endpoints: EndpointPlan[];
}

/** Repositories of the AWS Deep Learning Containers used per image kind. */
export const dlcRepositories = {
  'hf-tgi': 'huggingface-pytorch-tgi-inference',
  'hf-inference': 'huggingface-pytorch-inference',
} as const;

/** Application Auto Scaling's dimension and target-tracking metric for inference component copies. */
export const componentScalableDimension = 'sagemaker:inference-component:DesiredCopyCount';
export const componentConcurrencyMetric =
  'SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution';

/** The log group SageMaker writes an endpoint's container output to (fixed by SageMaker). */
export function endpointLogGroupName(endpointName: string): string {
  return `/aws/sagemaker/Endpoints/${endpointName}`;
}

/** Application Auto Scaling's resource id of an inference component. */
export function componentResourceId(componentName: string): string {
  return `inference-component/${componentName}`;
}

/**
 * SageMaker's count of calls refused because a component had no copy (a scaled-to-zero version
 * being called): the signal that wakes it, and the `Cold` alarm's metric.
 */
export const noCapacityMetric = 'NoCapacityInvocationFailures';

interface ResolvedContainer {
  image: string;
  /** ECR repository ARN the execution role must be able to pull from. */
  repositoryArn: string;
  environment: Record<string, string>;
  /** No network for the container: it needs none when the weights ship in the image or S3. */
  networkIsolation: boolean;
}

/**
 * SageMaker hosting for the catalog, per endpoint (the catalog's endpoint names): one production
 * variant of the endpoint's instance type under SageMaker's managed instance scaling, and one
 * inference component per version (its SageMaker model, what one copy reserves, its copy count),
 * released by rolling update with automatic rollback on the version's alarms; an execution role
 * scoped to the endpoint, its log group, and copy-count auto scaling per component (from zero for
 * preview versions). Everything comes from the plan, which comes from the seed catalog and
 * shared/catalog/deployment.ts: the stack has no model names of its own.
 */
export class ModelsStack extends Stack {
  readonly endpoints: EndpointPlan[];

  constructor(scope: Construct, id: string, props: ModelsStackProps) {
    super(scope, id, props);
    this.endpoints = props.endpoints;
    for (const endpoint of props.endpoints) this.addEndpoint(props.config, endpoint);
  }

  private addEndpoint(config: StageConfig, plan: EndpointPlan): void {
    const { endpointName } = plan;
    const id = (suffix: string) => `${endpointName}-${suffix}`;

    // Created here rather than by SageMaker on first start, so it has the stage's retention and
    // goes away with the stack instead of growing forever.
    const logGroup = new LogGroup(this, id('Logs'), {
      logGroupName: endpointLogGroupName(endpointName),
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // One role per endpoint: its containers may pull their own images, read their own weights and
    // write their own logs, nothing of another endpoint's.
    const role = new Role(this, id('ExecutionRole'), {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Tollgate ${config.stage}: SageMaker execution role of ${endpointName}`,
    });

    const containers = plan.components.map((component) => this.container(config, component));
    this.grantExecution(role, logGroup, plan, containers);

    // An endpoint that hosts inference components: its variant names no model, only the
    // instances (managed: SageMaker adds and removes instances as the components' copies need,
    // down to zero when every version on it may idle at zero copies).
    const endpointConfig = new CfnEndpointConfig(this, id('Config'), {
      executionRoleArn: role.roleArn,
      productionVariants: [
        {
          variantName: endpointVariantName,
          instanceType: plan.instanceType,
          initialInstanceCount: plan.instances.initial,
          managedInstanceScaling: {
            status: 'ENABLED',
            minInstanceCount: plan.instances.min,
            maxInstanceCount: plan.instances.max,
          },
          // Requests go to the copy with the fewest in flight rather than at random: model calls
          // vary from milliseconds to many seconds (chat), where random routing queues behind slow ones.
          routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
        },
      ],
      // No KmsKeyId: the GPU types here (g5, g6, g4dn) have NVMe instance storage, which they
      // encrypt themselves, and SageMaker rejects a KMS key for instance types with instance
      // storage. The c5 types would take one; their volumes hold only the public model server image.
    });
    endpointConfig.node.addDependency(role);

    const endpoint = new CfnEndpoint(this, id('Endpoint'), {
      endpointName,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
    });
    endpoint.node.addDependency(logGroup);

    plan.components.forEach((component, i) => {
      this.addComponent(config, endpoint, role, component, containers[i]!);
    });

    new CfnOutput(this, id('Name'), {
      value: endpoint.attrEndpointName,
      description: `SageMaker endpoint serving ${[...new Set(plan.components.map((c) => c.model))].join(', ')} (inference components: ${plan.components.map((c) => c.componentName).join(', ')})`,
      exportName: `${this.stackName}-${endpointName}`,
    });
  }

  /**
   * One version: its SageMaker model, its inference component on the endpoint (what a copy
   * reserves, its copy count, its release policy), and its copy-count auto scaling.
   */
  private addComponent(
    config: StageConfig,
    endpoint: CfnEndpoint,
    role: Role,
    component: ComponentPlan,
    container: ResolvedContainer,
  ): void {
    const { deployment, componentName } = component;
    const id = (suffix: string) => `${componentName}-${suffix}`;
    // No ModelName: CloudFormation then generates one, so a changed image or environment can
    // replace the model (models are immutable) without a name clash; the component then rolls
    // its copies over to the new model.
    const model = new CfnModel(this, id('Model'), {
      executionRoleArn: role.roleArn,
      enableNetworkIsolation: container.networkIsolation,
      primaryContainer: {
        image: container.image,
        environment: container.environment,
        ...modelData(deployment),
      },
    });
    // SageMaker checks the role's permissions when it pulls the image: attach them first.
    model.node.addDependency(role);

    const alarms = componentAlarmNames(config.stage, componentName);
    const { resources } = deployment;
    const inferenceComponent = new CfnInferenceComponent(this, id('Component'), {
      // Named: the gateway addresses the version by this name (shared/catalog/deployment.ts).
      inferenceComponentName: componentName,
      endpointName: endpoint.attrEndpointName,
      variantName: endpointVariantName,
      specification: {
        modelName: model.attrModelName,
        computeResourceRequirements: {
          ...(resources.acceleratorDevices
            ? { numberOfAcceleratorDevicesRequired: resources.acceleratorDevices }
            : {}),
          numberOfCpuCoresRequired: resources.cpuCores,
          minMemoryRequiredInMb: resources.memoryMb,
        },
        ...(deployment.startupHealthCheckTimeoutSeconds
          ? {
              startupParameters: {
                containerStartupHealthCheckTimeoutInSeconds: deployment.startupHealthCheckTimeoutSeconds,
              },
            }
          : {}),
      },
      runtimeConfig: { copyCount: deployment.initialCopies },
      // A release (a new model: image, environment, weights; or new resources) replaces one copy
      // at a time, waits `releaseBakeSeconds` watching the version's own alarms, and rolls every
      // copy back at once if either goes off. Adding or removing a version touches no other one.
      deploymentConfig: {
        rollingUpdatePolicy: {
          maximumBatchSize: { type: 'COPY_COUNT', value: 1 },
          waitIntervalInSeconds: config.models.releaseBakeSeconds,
          maximumExecutionTimeoutInSeconds: releaseTimeoutSeconds(
            deployment,
            config.models.releaseBakeSeconds,
          ),
          rollbackMaximumBatchSize: { type: 'CAPACITY_PERCENT', value: 100 },
        },
        autoRollbackConfiguration: {
          alarms: [{ alarmName: alarms.errorRate }, { alarmName: alarms.latency }],
        },
      },
    });

    // L1 on purpose: without a RoleARN, Application Auto Scaling uses its service-linked role for
    // SageMaker; the L2 would create an extra IAM role that is never used.
    const target = new CfnScalableTarget(this, id('ScalableTarget'), {
      serviceNamespace: 'sagemaker',
      scalableDimension: componentScalableDimension,
      resourceId: componentResourceId(componentName),
      minCapacity: deployment.minCopies,
      maxCapacity: deployment.maxCopies,
    });
    // The component exists only once the endpoint is in service and the component created.
    target.node.addDependency(inferenceComponent);
    new CfnScalingPolicy(this, id('Scaling'), {
      policyName: `${componentName}-concurrency`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: deployment.targetConcurrentRequestsPerCopy,
        predefinedMetricSpecification: { predefinedMetricType: componentConcurrencyMetric },
        // Out fast (a queue builds in seconds), in slowly (a new copy takes minutes to be ready).
        scaleOutCooldown: 60,
        scaleInCooldown: 600,
      },
    });
    if (component.scalesToZero) this.addWakeFromZero(target, componentName, alarms.wake);
  }

  /**
   * Target tracking cannot leave zero copies (it divides by the copy count): AWS's documented
   * answer is a step scaling policy that adds a copy, on an alarm over the component's
   * `NoCapacityInvocationFailures`, which SageMaker counts for every call it refused for want of
   * a copy. The first call to a cold version is refused (the gateway answers 503 `model_cold`
   * with Retry-After) and wakes it.
   */
  private addWakeFromZero(target: CfnScalableTarget, componentName: string, alarmName: string): void {
    const policy = new CfnScalingPolicy(this, `${componentName}-WakeFromZero`, {
      policyName: `${componentName}-wake`,
      policyType: 'StepScaling',
      scalingTargetId: target.ref,
      stepScalingPolicyConfiguration: {
        adjustmentType: 'ChangeInCapacity',
        metricAggregationType: 'Maximum',
        cooldown: 60,
        stepAdjustments: [{ metricIntervalLowerBound: 0, scalingAdjustment: 1 }],
      },
    });
    new CfnAlarm(this, `${componentName}-WakeAlarm`, {
      alarmName,
      alarmDescription: `${componentName} was called with no copy running: adds one (step scaling from zero). Not a fault by itself; the ${componentName}-Cold alarm says when no copy comes.`,
      namespace: 'AWS/SageMaker',
      metricName: noCapacityMetric,
      dimensions: [{ name: 'InferenceComponentName', value: componentName }],
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [policy.attrArn],
    });
  }

  /** Image, environment and network mode of one version's container. */
  private container(config: StageConfig, component: ComponentPlan): ResolvedContainer {
    const { deployment } = component;
    const { image } = deployment;
    const region = Stack.of(this).region;
    const environment: Record<string, string> = {};
    let resolved: Omit<ResolvedContainer, 'environment'>;

    if (image.kind === 'model-server') {
      const ecr = image.imageUri ? parseEcrImage(image.imageUri) : undefined;
      const repository = ecr?.repository ?? config.models.modelServerImage.repositoryName;
      resolved = {
        image:
          image.imageUri ??
          `${Aws.ACCOUNT_ID}.dkr.ecr.${region}.${Aws.URL_SUFFIX}/${repository}:${config.models.modelServerImage.tag}`,
        repositoryArn: ecr
          ? `arn:${Aws.PARTITION}:ecr:${ecr.region}:${ecr.account}:repository/${ecr.repository}`
          : Stack.of(this).formatArn({ service: 'ecr', resource: 'repository', resourceName: repository }),
        // The model server's weights ship inside the image (npm packages) or in S3.
        networkIsolation: true,
      };
      environment.TOLLGATE_MODEL_VERSION = component.key;
    } else {
      const repository = dlcRepositories[image.kind];
      const account = config.models.dlcAccount;
      resolved = {
        image: `${account}.dkr.ecr.${region}.${Aws.URL_SUFFIX}/${repository}:${image.imageTag ?? defaultImageTags[image.kind]}`,
        repositoryArn: `arn:${Aws.PARTITION}:ecr:${region}:${account}:repository/${repository}`,
        // A Hub model id is downloaded at start and needs the internet; weights from S3 do not.
        networkIsolation: image.hfModelId === undefined,
      };
      environment.HF_MODEL_ID = image.hfModelId ?? '/opt/ml/model';
      if (image.kind === 'hf-tgi') {
        environment.SM_NUM_GPUS = String(image.numGpus);
        environment.MAX_INPUT_TOKENS = String(image.maxInputTokens);
        environment.MAX_TOTAL_TOKENS = String(image.maxTotalTokens);
        // /invocations then takes OpenAI-style `messages` (and streams OpenAI-style chunks).
        environment.MESSAGES_API_ENABLED = 'true';
      } else {
        environment.HF_TASK = image.hfTask;
      }
    }
    return { ...resolved, environment: { ...environment, ...deployment.environment } };
  }

  /**
   * The execution role's policy, the minimum SageMaker hosting documents for CreateModel: pull
   * the endpoint's images, read its weights, write its logs and instance metrics.
   */
  private grantExecution(
    role: Role,
    logGroup: LogGroup,
    plan: EndpointPlan,
    containers: ResolvedContainer[],
  ): void {
    role.addToPolicy(
      new PolicyStatement({
        sid: 'PullImages',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [...new Set(containers.map((c) => c.repositoryArn))],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'EcrLogin',
        // An account-level call: it has no resource to scope to.
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
      }),
    );

    const objects: string[] = [];
    const listPrefixes = new Map<string, string[]>();
    for (const component of plan.components) {
      const s3 = component.deployment.modelDataUrl
        ? parseS3Url(component.deployment.modelDataUrl)
        : undefined;
      if (!s3) continue;
      const bucketArn = `arn:${Aws.PARTITION}:s3:::${s3.bucket}`;
      objects.push(s3.prefix ? `${bucketArn}/${s3.key}*` : `${bucketArn}/${s3.key}`);
      if (s3.prefix) listPrefixes.set(bucketArn, [...(listPrefixes.get(bucketArn) ?? []), `${s3.key}*`]);
    }
    if (objects.length > 0) {
      role.addToPolicy(
        new PolicyStatement({ sid: 'ReadWeights', actions: ['s3:GetObject'], resources: objects }),
      );
    }
    for (const [bucketArn, prefixes] of listPrefixes) {
      // Uncompressed weights (an S3 prefix) are listed before they are copied: list that prefix only.
      role.addToPolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
          conditions: { StringLike: { 's3:prefix': prefixes } },
        }),
      );
    }

    role.addToPolicy(
      new PolicyStatement({
        sid: 'WriteLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'InstanceMetrics',
        effect: Effect.ALLOW,
        // PutMetricData has no resource-level permissions; the namespace condition is the scope.
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
      }),
    );

    // cdk-nag: these are the only wildcards, each for an action with no narrower resource.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions; PutMetricData is held to the /aws/sagemaker/Endpoints namespace by a condition.',
    });
  }
}

/**
 * The longest a release of one version may take before SageMaker gives up and rolls it back:
 * each of its copies starts (up to its health check timeout) and bakes, one after the other,
 * with room to spare; within SageMaker's 600 s to 8 h.
 */
function releaseTimeoutSeconds(d: ModelDeployment, bakeSeconds: number): number {
  const perCopy = (d.startupHealthCheckTimeoutSeconds ?? 600) + bakeSeconds;
  return Math.min(28_800, Math.max(600, 2 * perCopy * Math.max(1, d.maxCopies)));
}

/** S3 weights as CreateModel wants them: a compressed archive URL, or an uncompressed prefix. */
function modelData(d: ModelDeployment): Partial<CfnModel.ContainerDefinitionProperty> {
  const s3 = d.modelDataUrl ? parseS3Url(d.modelDataUrl) : undefined;
  if (!s3 || !d.modelDataUrl) return {};
  if (!s3.prefix) return { modelDataUrl: d.modelDataUrl };
  return {
    modelDataSource: {
      s3DataSource: { s3Uri: d.modelDataUrl, s3DataType: 'S3Prefix', compressionType: 'None' },
    },
  };
}
