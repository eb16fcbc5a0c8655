import {
  Annotations,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  type FunctionUrl,
  FunctionUrlAuthType,
  InvokeMode,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import { tollgateBundling } from '../bundling';
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
/** The same app for response streaming (Function URL), by path. */
export const apiStreamEntry = fromRoot('functions', 'api', 'stream-lambda.ts');

export { esmRequireBanner } from '../bundling';

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
  /** The same app behind a Function URL that streams responses (chat with `stream: true`). */
  readonly streamFunction: NodejsFunction;
  /** The stream function's URL: the Console stack routes chat completions to it. */
  readonly streamUrl: FunctionUrl;
  /** Session signing keys and Stripe keys, as one JSON object the deployer fills in. */
  readonly secrets: Secret;

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

    // Filled in by the deployer (README, "Before the first deploy"): JWT_PRIVATE_JWKS from
    // `npm run admin -- gen-jwks`, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET. Read once per cold
    // start (functions/secrets.ts), never put in plain environment variables.
    this.secrets = new Secret(this, 'PlatformSecrets', {
      secretName: `tollgate/${config.stage}/platform`,
      description: `Tollgate ${config.stage}: session signing keys and Stripe keys (JSON object)`,
      removalPolicy,
    });
    this.secrets.grantRead(role);
    Validations.of(this.secrets).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Holds keys issued elsewhere (a JWK set with kid-based rollover, Stripe keys rotated in Stripe): a Secrets Manager rotation Lambda cannot mint them; rotation is the documented procedure.',
    });

    // Both functions run the same app with the same role; they differ in how answers leave.
    const apiFunction = (id: string, opts: { name: string; entry: string; timeout: Duration }) =>
      new NodejsFunction(this, id, {
        functionName: `tollgate-${config.stage}-${opts.name}`,
        entry: opts.entry,
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
        timeout: opts.timeout,
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
          TOLLGATE_SECRETS_ARN: this.secrets.secretArn,
          ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
          ...(config.email ? { EMAIL_FROM: config.email.from } : {}),
          // AWS_REGION is set by Lambda itself (and is reserved: setting it fails the deploy).
        },
        bundling: tollgateBundling,
      });
    this.function = apiFunction('ApiFunction', {
      name: 'api',
      entry: apiEntry,
      timeout: Duration.seconds(config.apiFunction.timeoutSeconds),
    });
    // A streamed completion lasts as long as the model generates; the model timeout bounds each
    // gap between tokens, so the whole stream gets minutes, not API Gateway's 30 s.
    this.streamFunction = apiFunction('ApiStreamFunction', {
      name: 'api-stream',
      entry: apiStreamEntry,
      timeout: Duration.minutes(5),
    });
    const streamUrl = this.streamFunction.addFunctionUrl({
      // Authentication is the app's (API keys, sessions), exactly as behind the HTTP API.
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
    this.streamUrl = streamUrl;
    if (!config.publicUrl) {
      // The Console stack's origin cannot be passed in here (it routes to this stack: a cycle).
      Annotations.of(this).addWarningV2(
        'tollgate:publicUrl',
        'publicUrl is not set: emails link to http://localhost:8787 and the console on CloudFront cannot make cookie-authenticated writes. Deploy once, then redeploy with -c publicUrl=<ConsoleUrl output> (or set console.domain).',
      );
    }

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

    // Account emails (verification, reset, invitations) from the configured identity only.
    if (config.email) {
      this.function.addToRolePolicy(
        new PolicyStatement({
          sid: 'SendAccountEmail',
          actions: ['ses:SendEmail'],
          resources: [
            Stack.of(this).formatArn({
              service: 'ses',
              resource: 'identity',
              resourceName: config.email.sesIdentity,
            }),
          ],
        }),
      );
    }

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
    new CfnOutput(this, 'StreamUrl', {
      value: streamUrl.url,
      description: 'The same API with response streaming: the base URL for streamed chat',
    });
  }
}
