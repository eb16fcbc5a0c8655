import {
  Annotations,
  CfnOutput,
  Duration,
  Fn,
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
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type ApiPlane, defaultPlane, planeRoutePaths } from '../../shared/api-planes';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import { tollgateBundling } from '../bundling';
import type { StageConfig } from '../config';
import { acknowledgeTracing, acknowledgeWildcardResource } from '../nag';
import { fromRoot, lockFile, repoRoot } from '../paths';
import { batchBucketArn, batchFilesObjectsArn } from './data-stack';

export interface ApiStackProps extends StackProps {
  config: StageConfig;
  /** From the data stack; the functions may touch these tables and no others. */
  tables: Record<TableId, ITableV2>;
  /** From the data stack: batch files (the batch plane reads, writes and deletes them). */
  batchBucket: IBucket;
  /** From the data stack: batch work (the batch plane enqueues a batch's chunks). */
  batchQueue: IQueue;
}

/**
 * The API's functions and their entries, by path (infra never imports runtime code): one per plane
 * (shared/api-planes.ts), plus the data plane's streaming twin behind a Function URL.
 */
export const apiFunctions = {
  data: { name: 'api-data', plane: 'data', entry: fromRoot('functions', 'api', 'lambda', 'data.ts') },
  stream: {
    name: 'api-stream',
    plane: 'data',
    entry: fromRoot('functions', 'api', 'lambda', 'data-stream.ts'),
  },
  console: {
    name: 'api-console',
    plane: 'console',
    entry: fromRoot('functions', 'api', 'lambda', 'console.ts'),
  },
  billing: {
    name: 'api-billing',
    plane: 'billing',
    entry: fromRoot('functions', 'api', 'lambda', 'billing.ts'),
  },
  docs: { name: 'api-docs', plane: 'docs', entry: fromRoot('functions', 'api', 'lambda', 'docs.ts') },
  batch: {
    name: 'api-batch',
    plane: 'batch',
    entry: fromRoot('functions', 'api', 'lambda', 'batch.ts'),
  },
} as const satisfies Record<string, { name: string; plane: ApiPlane; entry: string }>;
export type ApiFunctionId = keyof typeof apiFunctions;

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

/**
 * What the data plane (`/v1`, internet-facing) does with its tables: reads, queries, conditional
 * puts and updates, and transactions of those (ConditionCheckItem is one of a transaction's items).
 * No DeleteItem here: tenants and API keys live in `main`, and a data plane turned against its own
 * tables must not be able to remove them. The one deletion it needs is `dataPlaneDeletablePartitions`.
 */
export const dataPlaneTableActions = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/**
 * The partitions of `main` the data plane may delete items from: its quota reservations and leases
 * (`keys.reservation`: `QUOTA#<tenant>`), released when a request settles or a lease is given back.
 * Tenants (`TENANT#`), API keys (`TENANT#` and `APIKEYHASH#`) and everything else stay out of reach;
 * IAM can scope by partition key only (`dynamodb:LeadingKeys`), which is why an abandoned
 * Idempotency-Key claim, kept in the tenant's partition, is marked rather than deleted.
 */
export const dataPlaneDeletablePartitions = ['QUOTA#*'] as const;

/** Sending email through the configured SES identity, and no other (the API planes and the billing job). */
export function sendEmailStatement(stack: Stack, sesIdentity: string, sid: string): PolicyStatement {
  return new PolicyStatement({
    sid,
    actions: ['ses:SendEmail'],
    resources: [stack.formatArn({ service: 'ses', resource: 'identity', resourceName: sesIdentity })],
  });
}

/**
 * What the batch plane does with batch files: upload (Put), read back (`/v1/files/{id}/content`,
 * validation) and delete (`DELETE /v1/files/{id}`), on the bucket's objects. The worker reads
 * inputs and writes outputs, and deletes nothing. Both also get `s3:ListBucket` on the bucket
 * itself (`grantBatchFiles`), nothing else of it.
 */
export const batchPlaneObjectActions = ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'] as const;
export const batchWorkerObjectActions = ['s3:GetObject', 's3:PutObject'] as const;

/**
 * S3 rights on the stage's batch bucket for the batch plane and the worker, added to `role`:
 * `actions` on its objects (`batchFilesObjectsArn`, with the acknowledgment of its `/*`), and
 * `s3:ListBucket` on the bucket alone. Without ListBucket, S3 answers a GetObject of a missing key
 * with 403 AccessDenied instead of 404 NoSuchKey, and the storage adapter
 * (shared/batch/object-storage.ts) could not tell a missing file from a refused read.
 */
export function grantBatchFiles(role: Role, stage: string, actions: readonly string[], sid: string): void {
  const objects = batchFilesObjectsArn(role, stage);
  acknowledgeWildcardResource(
    role,
    objects,
    "Every object of the stage's batch bucket: file ids are made per upload and per batch, so no narrower resource exists; the bucket holds batch files only, and tenants' files are told apart by the app (each file's owner in the table).",
  );
  role.addToPolicy(new PolicyStatement({ sid, actions: [...actions], resources: [objects] }));
  role.addToPolicy(
    new PolicyStatement({
      sid: `${sid}MissingAsNotFound`,
      actions: ['s3:ListBucket'],
      resources: [batchBucketArn(role, stage)],
    }),
  );
}

/** Enqueuing batch chunks, on the batch work queue only (the batch plane, and the worker re-enqueuing). */
export function sendToQueueStatement(queue: IQueue, sid: string): PolicyStatement {
  return new PolicyStatement({ sid, actions: ['sqs:SendMessage'], resources: [queue.queueArn] });
}

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
 * The public API: one HTTP API in front of one Lambda per plane (shared/api-planes.ts), routed by
 * path, each with its own role and log group, so each bundle carries only its plane's SDKs and
 * each role only its plane's rights: only the data plane may invoke models, only billing may read
 * Stripe's keys, the docs function touches no data at all. The data plane's streaming twin serves
 * `stream: true` chat behind a Function URL (API Gateway would buffer it).
 */
export class ApiStack extends Stack {
  /** Every API function, by id (apiFunctions). */
  readonly functions: Record<ApiFunctionId, NodejsFunction>;
  /** Each plane's role (the data plane's two functions share one). */
  readonly roles: Record<ApiPlane, Role>;
  readonly httpApi: HttpApi;
  readonly apiStage: HttpStage;
  /** The data plane behind a Function URL that streams responses (chat with `stream: true`). */
  readonly streamFunction: NodejsFunction;
  /** The stream function's URL: the Console stack routes chat completions to it. */
  readonly streamUrl: FunctionUrl;
  /** Session signing keys (JSON object the deployer fills in): read by the console and billing planes. */
  readonly platformSecret: Secret;
  /** Stripe's keys (JSON object the deployer fills in): read by the billing plane and the billing job only. */
  readonly stripeSecret: Secret;
  /**
   * `EDGE_SECRET`, generated here: CloudFront's API origins send it, the planes that keep per-IP
   * limits (data, console) read it, and believe the viewer's address CloudFront passes only with it.
   */
  readonly edgeSecret: Secret;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, tables } = props;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // Own roles instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
    // which allows writing to every log group in the account. Each role may write to its own
    // functions' groups only.
    const roleOf = (plane: ApiPlane, what: string) =>
      new Role(this, `${title(plane)}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Tollgate ${config.stage} API, ${plane} plane: ${what}`,
      });
    this.roles = {
      data: roleOf('data', '/v1 (models, quotas, metering)'),
      console: roleOf('console', 'accounts, sessions, operators'),
      billing: roleOf('billing', 'Stripe Checkout, portal, invoices, webhook'),
      docs: roleOf('docs', '/openapi.json and /docs'),
      batch: roleOf('batch', 'batch files and batches (S3, SQS)'),
    };

    // Filled in by the deployer (docs/deploy.md, "Before the first deploy"), read once per cold start
    // (functions/secrets.ts), never put in plain environment variables. Two secrets so that the
    // console can hold the session keys without Stripe's.
    const secret = (secretId: string, name: string, holds: string, reason: string) => {
      const made = new Secret(this, secretId, {
        secretName: `tollgate/${config.stage}/${name}`,
        description: `Tollgate ${config.stage}: ${holds} (JSON object)`,
        removalPolicy,
      });
      Validations.of(made).acknowledge({ id: 'AwsSolutions-SMG4', reason });
      return made;
    };
    this.platformSecret = secret(
      'PlatformSecrets',
      'platform',
      'session signing keys (JWT_PRIVATE_JWKS)',
      'Holds a JWK set issued with `npm run admin -- gen-jwks`, rolled over by kid: a Secrets Manager rotation Lambda cannot mint it; rotation is the documented procedure.',
    );
    this.stripeSecret = secret(
      'StripeSecrets',
      'stripe',
      "Stripe's keys (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)",
      'Holds keys issued by Stripe and rotated in the Stripe Dashboard: a Secrets Manager rotation Lambda cannot mint them; rotation is the documented procedure.',
    );
    // Generated, not filled in: only CloudFront and the API need it, and nobody types it.
    this.edgeSecret = new Secret(this, 'EdgeSecret', {
      secretName: `tollgate/${config.stage}/edge`,
      description: `Tollgate ${config.stage}: the secret CloudFront's API origins send (EDGE_SECRET)`,
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'EDGE_SECRET',
        excludePunctuation: true,
        passwordLength: 48,
      },
      removalPolicy,
    });
    Validations.of(this.edgeSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'CloudFront reads it at deploy time into its origin headers: a rotation Lambda would break every API call through the distribution until the next deploy. Rotate by deploying with a new value (docs/deploy.md).',
    });
    this.platformSecret.grantRead(this.roles.console);
    this.platformSecret.grantRead(this.roles.billing);
    this.platformSecret.grantRead(this.roles.batch);
    this.stripeSecret.grantRead(this.roles.billing);
    this.edgeSecret.grantRead(this.roles.data);
    this.edgeSecret.grantRead(this.roles.console);
    this.edgeSecret.grantRead(this.roles.batch);
    const secretsOf: Partial<Record<ApiPlane, string>> = {
      data: this.edgeSecret.secretArn,
      console: Fn.join(',', [this.platformSecret.secretArn, this.edgeSecret.secretArn]),
      billing: Fn.join(',', [this.platformSecret.secretArn, this.stripeSecret.secretArn]),
      // Like the console: sessions for /account/batches and /admin/batches, and the client's
      // address behind CloudFront (the edge secret) for the per-IP limits.
      batch: Fn.join(',', [this.platformSecret.secretArn, this.edgeSecret.secretArn]),
    };

    const apiFunction = (fid: ApiFunctionId, timeout: Duration) => {
      const { name, plane, entry } = apiFunctions[fid];
      const logGroup = new LogGroup(this, `${title(fid)}Logs`, {
        retention: config.logRetentionDays,
        removalPolicy,
      });
      logGroup.grantWrite(this.roles[plane]);
      const secrets = secretsOf[plane];
      return new NodejsFunction(this, `Api${title(fid)}Function`, {
        functionName: `tollgate-${config.stage}-${name}`,
        description: `Tollgate ${config.stage} API, ${plane} plane${fid === 'stream' ? ' (response streaming)' : ''}`,
        entry,
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
        // A ceiling and a guarantee: a flood of this plane cannot take the account's concurrency
        // from the other planes or the jobs (infra/config.ts `concurrency`).
        reservedConcurrentExecutions: config.concurrency.api[fid],
        // X-Ray segments per invocation (init, invocation, overhead); the SDK clients are not
        // instrumented (docs/observability.md, Tracing).
        tracing: Tracing.ACTIVE,
        timeout,
        role: this.roles[plane],
        logGroup,
        environment: {
          STAGE: config.stage,
          LOG_LEVEL: config.logLevel,
          NODE_OPTIONS: '--enable-source-maps',
          ...(plane === 'docs'
            ? {}
            : {
                // Informational: the code derives table names from STAGE via shared/db/tables.
                TABLE_MAIN: tables.main.tableName,
                TABLE_USAGE: tables.usage.tableName,
                PAST_DUE_GRACE_DAYS: String(config.billing.pastDueGraceDays),
              }),
          ...(plane === 'data' ? { MODEL_TIMEOUT_MS: String(config.modelTimeoutMs) } : {}),
          ...(plane === 'batch'
            ? { BATCH_BUCKET: props.batchBucket.bucketName, BATCH_QUEUE_URL: props.batchQueue.queueUrl }
            : {}),
          ...(secrets ? { TOLLGATE_SECRETS_ARN: secrets } : {}),
          ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
          ...(config.email && plane !== 'docs' ? { EMAIL_FROM: config.email.from } : {}),
          // AWS_REGION is set by Lambda itself (and is reserved: setting it fails the deploy).
        },
        bundling: tollgateBundling,
      });
    };
    const timeout = Duration.seconds(config.apiFunction.timeoutSeconds);
    this.functions = {
      data: apiFunction('data', timeout),
      // A streamed completion lasts as long as the model generates; the model timeout bounds each
      // gap between tokens, so the whole stream gets minutes, not API Gateway's 30 s.
      stream: apiFunction('stream', Duration.minutes(5)),
      console: apiFunction('console', timeout),
      billing: apiFunction('billing', timeout),
      docs: apiFunction('docs', timeout),
      batch: apiFunction('batch', timeout),
    };
    for (const role of Object.values(this.roles)) acknowledgeTracing(role);
    this.streamFunction = this.functions.stream;
    const streamUrl = this.streamFunction.addFunctionUrl({
      // Authentication is the app's (API keys), exactly as behind the HTTP API.
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
    // the same names the code queries), rather than grantReadWriteData's `index/*` and stream
    // reads. Every plane but the docs.
    const tableIds = Object.keys(tableDefinitions) as TableId[];
    const tableResources = tableIds.flatMap((tableId) => [
      tables[tableId].tableArn,
      ...tableDefinitions[tableId].indexes.map((index) => `${tables[tableId].tableArn}/index/${index.name}`),
    ]);
    const tableData = new PolicyStatement({
      sid: 'TableData',
      actions: [...apiTableActions],
      resources: tableResources,
    });
    for (const plane of ['console', 'billing', 'batch'] as const) this.roles[plane].addToPolicy(tableData);
    // The internet-facing data plane: only the item actions its code uses, and deletes only of its
    // own quota reservations (IAM checks each item of a transaction against these too).
    this.roles.data.addToPolicy(
      new PolicyStatement({
        sid: 'DataPlaneTableData',
        actions: [...dataPlaneTableActions],
        resources: tableResources,
      }),
    );
    this.roles.data.addToPolicy(
      new PolicyStatement({
        sid: 'ReleaseReservations',
        actions: ['dynamodb:DeleteItem'],
        resources: [tables.main.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...dataPlaneDeletablePartitions] },
        },
      }),
    );

    // The batch plane: the batch bucket's objects (and ListBucket, no bucket settings) and sending to
    // the batch queue. No model (the worker runs the lines), no Stripe, no email.
    grantBatchFiles(this.roles.batch, config.stage, batchPlaneObjectActions, 'BatchFiles');
    this.roles.batch.addToPolicy(sendToQueueStatement(props.batchQueue, 'EnqueueBatchWork'));

    // Least privilege on models: the data plane alone invokes, and only this stage's endpoints
    // (not `*`, not other stages').
    const endpoints = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: sagemakerEndpointPattern(config.stage),
    });
    this.roles.data.addToPolicy(
      new PolicyStatement({
        sid: 'InvokeModels',
        actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
        resources: [endpoints],
      }),
    );
    acknowledgeWildcardResource(
      this.roles.data,
      endpoints,
      "The stage's endpoints by prefix: endpoints come and go with the catalog (shared/catalog/deployment.ts) and the Models stack deploys on its own; the prefix keeps other stages' and other projects' endpoints out.",
    );

    // Email from the configured identity only: account emails (console), usage alerts that a
    // settled request may trigger (data). The billing plane queues its payment notices, which the
    // billing sync job sends (shared/email/email-queue.ts): it may not send.
    if (config.email) {
      const sendEmail = sendEmailStatement(Stack.of(this), config.email.sesIdentity, 'SendEmail');
      for (const plane of ['data', 'console'] as const) this.roles[plane].addToPolicy(sendEmail);
    }

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `tollgate-${config.stage}-api`,
      description: `Tollgate ${config.stage} public API`,
      // The default stage HttpApi would create cannot take throttling; we create it ourselves.
      createDefaultStage: false,
    });

    // One JSON line per request, including those API Gateway answers itself (throttled, 5xx from
    // a crashed function) that the functions' own logs never see. No headers, no bodies.
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

    // By path to each plane's function, as shared/api-planes.ts says (the most specific route
    // wins); everything else, `/` included, to the default plane. Payload format 2.0 (the
    // integration's default) is what hono/aws-lambda's handle() reads.
    const integrations: Partial<Record<ApiPlane, HttpLambdaIntegration>> = {};
    const integrationOf = (plane: ApiPlane) => {
      const fid: ApiFunctionId = plane;
      integrations[plane] ??= new HttpLambdaIntegration(`${title(plane)}Integration`, this.functions[fid]);
      return integrations[plane];
    };
    for (const [plane, paths] of Object.entries(planeRoutePaths) as [ApiPlane, readonly string[]][]) {
      for (const path of paths) {
        this.httpApi.addRoutes({ path, methods: [HttpMethod.ANY], integration: integrationOf(plane) });
      }
    }
    for (const path of ['/{proxy+}', '/']) {
      this.httpApi.addRoutes({ path, methods: [HttpMethod.ANY], integration: integrationOf(defaultPlane) });
    }
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Authorization is the app's: /v1 requires an API key (hash lookup, cached 5 s = the revocation bound) in the api-key-auth middleware, /account and /admin a session, Stripe's webhook its signature, and /docs and /openapi.json are public by design. HTTP API routes, proxy routes included, could carry a Lambda or JWT authorizer; one here would repeat the same checks in a second function (another invocation and cache per request), while the app's checks are the ones the API tests cover.",
    });

    new CfnOutput(this, 'ApiUrl', { value: this.apiStage.url, description: 'Base URL of the public API' });
    for (const fid of Object.keys(apiFunctions) as ApiFunctionId[]) {
      new CfnOutput(this, `Api${title(fid)}FunctionName`, { value: this.functions[fid].functionName });
    }
    new CfnOutput(this, 'StreamUrl', {
      value: streamUrl.url,
      description: 'The data plane with response streaming: the base URL for streamed chat',
    });
  }
}

function title(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}
