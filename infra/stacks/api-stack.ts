import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import type { StageConfig } from '../config';
import { acknowledgeWildcardResource } from '../nag';
import { fromRoot, lockFile, repoRoot } from '../paths';

export interface ApiStackProps extends StackProps {
  config: StageConfig;
  /** From the data stack; the function may touch these tables and no others. */
  tables: Record<TableId, ITableV2>;
}

/** Entry of the public API handler, by path: infra never imports runtime code. */
export const apiEntry = fromRoot('functions', 'api', 'lambda.ts');

/**
 * ESM bundles have no `require`; CJS dependencies bundled into them still call it (for node
 * builtins, e.g. `require("buffer")`), and esbuild's shim then throws "Dynamic require is not
 * supported". Defining it from import.meta.url fixes that. The import is aliased so it cannot
 * clash with a bundled module's own top-level `createRequire` binding.
 */
export const esmRequireBanner =
  "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);";

/**
 * What the API does with its tables: items and queries. No Scan (no request path scans), no
 * stream reads (the metering consumer's job), no table management.
 */
export const apiTableActions = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/** SageMaker endpoints this stage may invoke: the models stack names them `tollgate-<stage>-<model>`. */
export function sagemakerEndpointPattern(stage: string): string {
  return `tollgate-${stage}-*`;
}

/** Access log line (HTTP API context variables). `requestId` is API Gateway's id, also in the Lambda event's requestContext. */
export const accessLogFields = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  time: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  path: '$context.path',
  route: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
} as const;

/**
 * The public API: one Lambda running the Hono app behind an HTTP API. Other handlers (authorizer,
 * account/admin, webhooks, jobs) get their own stacks or constructs in later issues.
 */
export class ApiStack extends Stack {
  readonly function: NodejsFunction;
  readonly httpApi: HttpApi;
  readonly apiStage: HttpStage;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, tables } = props;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const logGroup = new LogGroup(this, 'ApiLogs', {
      retention: config.logRetentionDays,
      removalPolicy,
    });

    // Own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole, which
    // allows writing to every log group in the account. This role may write to its own group only.
    const role = new Role(this, 'ApiRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} public API`,
    });
    logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, 'ApiFunction', {
      functionName: `tollgate-${config.stage}-api`,
      entry: apiEntry,
      handler: 'handler',
      // Bundling runs from the repo root with the repo's lock file and its local esbuild,
      // whatever the current directory is.
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      // The newest Node runtime: the longest support window. The handler is async (Node 24 has
      // no callback handlers), and the bundle carries its own SDK, so the runtime's is unused.
      runtime: Runtime.NODEJS_24_X,
      // Graviton: cheaper per GB-second, and nothing here ships native x86 binaries.
      architecture: Architecture.ARM_64,
      memorySize: config.apiFunction.memoryMb,
      timeout: Duration.seconds(config.apiFunction.timeoutSeconds),
      role,
      logGroup,
      environment: {
        STAGE: config.stage,
        // Informational: the code derives table names from STAGE via shared/db/tables.
        TABLE_MAIN: tables.main.tableName,
        TABLE_USAGE: tables.usage.tableName,
        LOG_LEVEL: config.logLevel,
        MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
        NODE_OPTIONS: '--enable-source-maps',
        // AWS_REGION is set by Lambda itself (and is reserved: setting it fails the deploy).
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        banner: esmRequireBanner,
        // Prefer packages' ESM builds (hono, the SDK's dist-es): smaller and tree-shakeable.
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Mapped stack traces need only the mappings, not the original text; leaving the sources
        // out keeps the bundled SDK from doubling the zip (and the cold-start unzip).
        sourcesContent: false,
        // Bundle the AWS SDK too (the default would leave @aws-sdk/* to the runtime's copy). The
        // runtime's SDK version drifts with Lambda's release cadence; the SageMaker Runtime and
        // DynamoDB clients we test against (pinned in package.json) are the ones that must run,
        // e.g. for InvokeEndpointWithResponseStream event-stream handling. Cost: a larger
        // bundle, offset by tree-shaking and minification.
        externalModules: [],
        // No Docker here or in CI: bundle with the repo's own esbuild (found in node_modules).
        forceDockerBundling: false,
      },
    });

    // Least privilege on data: the two tables and their indexes BY NAME (from tableDefinitions,
    // the same names the code queries), rather than grantReadWriteData's `index/*` and stream reads.
    const tableIds = Object.keys(tableDefinitions) as TableId[];
    this.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'TableData',
        actions: [...apiTableActions],
        resources: tableIds.flatMap((tableId) => [
          tables[tableId].tableArn,
          ...tableDefinitions[tableId].indexes.map(
            (index) => `${tables[tableId].tableArn}/index/${index.name}`,
          ),
        ]),
      }),
    );

    // Least privilege on models: invoke this stage's endpoints only (not `*`, not other stages').
    const endpoints = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: sagemakerEndpointPattern(config.stage),
    });
    this.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'InvokeModels',
        actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
        resources: [endpoints],
      }),
    );
    acknowledgeWildcardResource(
      role,
      endpoints,
      "The stage's endpoints by prefix: endpoints come and go with the catalog (shared/catalog/deployment.ts) and the Models stack deploys on its own; the prefix keeps other stages' and other projects' endpoints out.",
    );

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `tollgate-${config.stage}-api`,
      description: `Tollgate ${config.stage} public API`,
      // The default stage HttpApi would create cannot take throttling; we create it ourselves.
      createDefaultStage: false,
    });

    // One JSON line per request, including those API Gateway answers itself (throttled, 5xx from
    // a crashed function) that the function's own logs never see. No headers, no bodies.
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy,
    });

    // Account-level backstop against floods; per-tenant and per-key limits live in the app.
    this.apiStage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.apiThrottle.rateLimit, burstLimit: config.apiThrottle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    // Payload format 2.0 (the integration's default) is what hono/aws-lambda's handle() reads.
    const integration = new HttpLambdaIntegration('ApiIntegration', this.function);
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration });
    this.httpApi.addRoutes({ path: '/', methods: [HttpMethod.ANY], integration });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Authorization is the app's: /v1 requires an API key (hash lookup, cached 5 s = the revocation bound) in the api-key-auth middleware, and /health, /docs and /openapi.json are public by design. One proxy route cannot carry per-path authorizers.",
    });

    new CfnOutput(this, 'ApiUrl', { value: this.apiStage.url, description: 'Base URL of the public API' });
    new CfnOutput(this, 'ApiFunctionName', { value: this.function.functionName });
  }
}
