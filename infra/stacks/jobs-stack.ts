import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, StartingPosition, Tracing } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import { tollgateBundling } from '../bundling';
import type { StageConfig } from '../config';
import { acknowledgeTracing, acknowledgeWildcardResource } from '../nag';
import { fromRoot, lockFile, repoRoot } from '../paths';
import {
  apiTableActions,
  batchWorkerObjectActions,
  grantBatchFiles,
  sagemakerEndpointPattern,
  sendEmailStatement,
  sendToQueueStatement,
} from './api-stack';
import { batchWorkerTimeout } from './data-stack';

export interface JobsStackProps extends StackProps {
  config: StageConfig;
  /** The `main` table: quota counters and reservations live there. */
  main: ITableV2;
  /** The `usage` table: the billing sync reads the usage events; its stream feeds the usage consumer. */
  usage: ITableV2;
  /** Stripe's keys (from the Api stack): the billing sync reads them, and no other secret. */
  stripeSecret: ISecret;
  /** Batch files (from the Data stack): the batch worker reads inputs and writes outputs. */
  batchBucket: IBucket;
  /** Batch work (from the Data stack): the batch worker consumes it, and re-enqueues to it. */
  batchQueue: IQueue;
}

/** Entry of the reservation sweeper, by path. */
export const sweeperEntry = fromRoot('functions', 'jobs', 'sweep-reservations-lambda.ts');

/** Entry of the billing sync (meter sync to Stripe, then the grace clock), by path. */
export const billingSyncEntry = fromRoot('functions', 'jobs', 'billing-sync-lambda.ts');

/** The billing sync's reserved concurrency: one run at a time. */
export const billingSyncConcurrency = 1;

/**
 * What the sweeper does to `main`: find expired reservations and leases in gsi1, read a lease's
 * granted and settled amounts (GetItem), then release each in one transaction (delete it, give
 * back the counters); and bring prepaid tenants' credit ledgers up to date (their balances in
 * gsi1, grants by Query, burn and expiry entries put in the transaction that moves the totals);
 * fire and re-arm low-balance alerts (an UpdateItem and a notice put in one transaction) and queue
 * their emails (PutItem; the billing sync sends them).
 */
export const sweeperTableActions = [
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
  'dynamodb:PutItem',
] as const;

/**
 * What the sweeper does to `usage`: read usage records (a lease's, by Query; a reservation's, by
 * GetItem), find open stream records past their expiry in gsi1, close them (UpdateItem), and mark a
 * record it counted or check that none exists, inside its release transaction.
 */
export const sweeperUsageActions = [
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** Entry of the batch worker (batch chunks from the queue; the batch sweep on its schedule), by path. */
export const batchWorkerEntry = fromRoot('functions', 'jobs', 'batch-worker-lambda.ts');

/**
 * The batch worker's queue event source, in one place for the stack and its tests: one message (one
 * chunk of a batch) per invocation, so a failed chunk is retried alone; the handler reports the
 * failed message (`batchItemFailures`) rather than throwing. `maxConcurrency` is set from the stage
 * (`concurrency.batchWorker` less one, see there).
 */
export const batchWorkerMapping = {
  batchSize: 1,
  reportBatchItemFailures: true,
} as const;

/**
 * Lines one batch worker invocation runs at once (`BATCH_WORKER_CONCURRENCY`, set here so the bound
 * below does not move with the app's default): with the queue's event source at
 * `concurrency.batchWorker - 1`, batch work has at most that times this many model calls in flight.
 */
export const batchWorkerLanes = 2;

/** What the batch worker may invoke: the same endpoints as the data plane, never streamed. */
export const batchWorkerModelActions = ['sagemaker:InvokeEndpoint'] as const;

/** Entry of the usage table's stream consumer (the usage aggregates), by path. */
export const usageConsumerEntry = fromRoot('functions', 'jobs', 'usage-consumer-lambda.ts');

/** The partition of the consumer's checkpoints in `main` (`keys.consumerPartition()`), one item per stream shard. */
export const consumerCheckpointPartition = 'CONSUMER#USAGE';

/**
 * What the usage consumer does to `main`, only under `consumerCheckpointPartition`: read a shard's
 * checkpoint (GetItem) and move it (an Update in the aggregates' transaction, conditional on the
 * value read). `UsageConsumer.checkpoints()` (a Query) is the API's freshness read, not the
 * function's, so Query is not granted here.
 */
export const consumerCheckpointActions = ['dynamodb:GetItem', 'dynamodb:UpdateItem'] as const;

/**
 * What the usage consumer does to `usage`: `ADD` to the aggregate items (the Updates of its
 * transactions). It never reads, puts or deletes there, and sends no ConditionCheck items.
 */
export const consumerAggregateActions = ['dynamodb:UpdateItem'] as const;

/**
 * What the usage consumer's key budget alerts do (shared/quotas/key-budgets.ts): in `main`, under
 * tenants' partitions, read a key, its tenant and its team (GetItem, Query) and record an alert
 * (a conditional PutItem); under the email queue's partition, queue the alert's emails (PutItem;
 * the billing sync sends them). In `usage`, read a key's month total (GetItem).
 */
export const keyBudgetMainActions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'] as const;
export const keyBudgetMainPartitions = ['TENANT#*', 'EMAILQUEUE'] as const;
export const keyBudgetUsageActions = ['dynamodb:GetItem'] as const;

/**
 * The usage consumer's event source mapping on the usage table's stream, in one place for the
 * stack and its tests.
 */
export const usageConsumerMapping = {
  // Everything the stream still holds (24 hours) when the mapping is created, not only what comes
  // after: records written between the stream's creation and the mapping's are counted too.
  startingPosition: StartingPosition.TRIM_HORIZON,
  // Up to 500 records a batch, or what one second gathers: one transaction per 99 aggregate items,
  // a batch's changes summed per item first. 500 records with both images stay far below the 6 MB
  // invocation payload.
  batchSize: 500,
  maxBatchingWindow: Duration.seconds(1),
  // The handler throws for the whole batch (no partial batch responses): a failed batch is split in
  // two and retried, so one bad record cannot hold back the rest of its batch for long.
  bisectBatchOnError: true,
  reportBatchItemFailures: false,
  // Bounded: past 10 retries, or a day (the stream's own retention), the batch goes to the
  // on-failure queue and the shard moves on instead of stalling behind it.
  retryAttempts: 10,
  maxRecordAge: Duration.days(1),
  // The checkpoint is per stream shard: a shard's batches must be applied one at a time, in order.
  parallelizationFactor: 1,
  // Lambda passes the event's `shardId` (what the checkpoint is keyed by) only with a tumbling
  // window. The window's state is not used: each batch is applied at once and the handler returns
  // `{ state: {} }`; the window only adds one invocation per shard a minute, often without records.
  tumblingWindow: Duration.seconds(60),
} as const;

/**
 * Scheduled work off the request path: the quota reservation sweeper, once a minute (a request
 * whose process died never settles; its reservation is released within a minute of its expiry),
 * and the billing sync every `billing.syncEveryMinutes` (closed usage windows to Stripe's meters,
 * then the grace clock that suspends tenants past due too long). And one job driven by data, not a
 * schedule: the usage consumer, which derives the usage aggregates from the usage table's stream.
 */
export class JobsStack extends Stack {
  readonly sweeper: NodejsFunction;
  readonly sweeperSchedule: Rule;
  readonly billingSync: NodejsFunction;
  readonly billingSyncSchedule: Rule;
  /**
   * Runs that never ran or crashed: invocations EventBridge could not deliver, and asynchronous
   * invocations that failed. Alarmed on by the Observability stack; a message is a run to look at,
   * not one to replay (the next scheduled run carries on from each tenant's cursor).
   */
  readonly deadLetters: Queue;
  /** The usage table's stream consumer: the aggregates, from the stream, once per change. */
  readonly usageConsumer: NodejsFunction;
  /**
   * The usage consumer's on-failure destination: one message per batch discarded after its retries
   * (the batch's shard and sequence range, not its records). Alarmed on by the Observability stack;
   * see docs/observability.md for what to do with one.
   */
  readonly usageConsumerFailures: Queue;
  /**
   * The batch worker: the batch queue's chunks (each line through the same model routing, metering
   * and billing as online, at the batch price), and once a minute the batch sweep (expiry,
   * cancelled batches' finalization, stuck finalizations resumed). Bounded by its reserved
   * concurrency (`concurrency.batchWorker`).
   */
  readonly batchWorker: NodejsFunction;
  readonly batchSweepSchedule: Rule;

  constructor(scope: Construct, id: string, props: JobsStackProps) {
    super(scope, id, props);
    const { config, main, usage } = props;
    this.deadLetters = new Queue(this, 'JobDeadLetters', {
      queueName: `tollgate-${config.stage}-job-dead-letters`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the scheduled jobs (EventBridge targets and the functions’ asynchronous failures); a dead-letter queue of a dead-letter queue would only move the finding.',
    });
    const logGroup = new LogGroup(this, 'SweeperLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'SweeperRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} quota reservation sweeper`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new PolicyStatement({
        sid: 'Reservations',
        actions: [...sweeperTableActions],
        resources: [main.tableArn, `${main.tableArn}/index/${tableDefinitions.main.indexes[0]!.name}`],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'UsageRecords',
        actions: [...sweeperUsageActions],
        resources: [usage.tableArn, `${usage.tableArn}/index/${tableDefinitions.usage.indexes[0]!.name}`],
      }),
    );
    this.sweeper = new NodejsFunction(this, 'SweeperFunction', {
      functionName: `tollgate-${config.stage}-sweep-reservations`,
      entry: sweeperEntry,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(50),
      // A crashed sweep is not retried: the next minute's run sweeps the same reservations.
      retryAttempts: 0,
      deadLetterQueue: this.deadLetters,
      role,
      logGroup,
      environment: {
        STAGE: config.stage,
        LOG_LEVEL: config.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        // The console's address, for the links in key budget and low-balance alerts.
        ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
      },
      bundling: tollgateBundling,
      tracing: Tracing.ACTIVE,
    });
    acknowledgeTracing(role);
    this.sweeperSchedule = new Rule(this, 'SweeperSchedule', {
      description: 'Release quota reservations of requests that never settled',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 2, deadLetterQueue: this.deadLetters })],
    });
    // The billing sync: the same table access as the API (items and queries, no Scan) on both
    // tables, and the Stripe secret. One run at a time (reserved concurrency 1, and the walk's
    // lease in the table behind it); runs overlapping or repeating anyway are harmless (the
    // cursors' conditional writes, the meter events' identifiers), so a failed run is not retried:
    // the next one carries on from where the walk and each tenant's cursor stand.
    const billingLogs = new LogGroup(this, 'BillingSyncLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const billingRole = new Role(this, 'BillingSyncRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} billing sync`,
    });
    billingLogs.grantWrite(billingRole);
    props.stripeSecret.grantRead(billingRole);
    const tables: Record<TableId, ITableV2> = { main, usage };
    billingRole.addToPolicy(
      new PolicyStatement({
        sid: 'BillingTableData',
        actions: [...apiTableActions],
        resources: (Object.keys(tableDefinitions) as TableId[]).flatMap((id) => [
          tables[id].tableArn,
          ...tableDefinitions[id].indexes.map((index) => `${tables[id].tableArn}/index/${index.name}`),
        ]),
      }),
    );
    // Payment notices, from the configured identity only: the grace clock's own, and those the
    // billing plane queued (shared/email/email-queue.ts), which may not send itself.
    if (config.email) {
      billingRole.addToPolicy(
        sendEmailStatement(Stack.of(this), config.email.sesIdentity, 'SendBillingEmail'),
      );
    }
    this.billingSync = new NodejsFunction(this, 'BillingSyncFunction', {
      functionName: `tollgate-${config.stage}-billing-sync`,
      entry: billingSyncEntry,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      // A run stops before its invocation's time is up (functions/jobs/billing-sync-lambda.ts) and
      // the next resumes the walk there. No longer than the schedule's period, so a run is over
      // before the next one is due and the reservation below throttles nothing in normal times.
      timeout: Duration.minutes(Math.min(5, config.billing.syncEveryMinutes)),
      // One run at a time: two would walk the same tenants (harmless, see above, but wasted).
      reservedConcurrentExecutions: billingSyncConcurrency,
      // Reruns are idempotent but a failed run is not retried at once: the next one carries on.
      retryAttempts: 0,
      deadLetterQueue: this.deadLetters,
      role: billingRole,
      logGroup: billingLogs,
      environment: {
        STAGE: config.stage,
        LOG_LEVEL: config.logLevel,
        MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
        PAST_DUE_GRACE_DAYS: String(config.billing.pastDueGraceDays),
        NODE_OPTIONS: '--enable-source-maps',
        TOLLGATE_SECRETS_ARN: props.stripeSecret.secretArn,
        ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
        ...(config.email ? { EMAIL_FROM: config.email.from } : {}),
      },
      bundling: tollgateBundling,
      tracing: Tracing.ACTIVE,
    });
    acknowledgeTracing(billingRole);
    this.billingSyncSchedule = new Rule(this, 'BillingSyncSchedule', {
      description: 'Send closed usage windows to Stripe; suspend tenants past due beyond the grace period',
      schedule: Schedule.rate(Duration.minutes(config.billing.syncEveryMinutes)),
      targets: [
        new LambdaFunction(this.billingSync, { retryAttempts: 0, deadLetterQueue: this.deadLetters }),
      ],
    });

    this.usageConsumerFailures = new Queue(this, 'UsageConsumerFailures', {
      queueName: `tollgate-${config.stage}-usage-consumer-failures`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps a message: whoever looks at it needs the batch's sequence range.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.usageConsumerFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the usage consumer’s event source mapping (batches discarded after their retries); nothing consumes it, so a dead-letter queue behind it would only move the finding.',
    });
    this.usageConsumer = this.createUsageConsumer(config, main, usage);
    this.batchWorker = this.createBatchWorker(props);
    // The sweep, on the same function (the handler tells an event without `Records` apart). A
    // failed sweep is not retried: the next minute's sweeps the same batches.
    this.batchSweepSchedule = new Rule(this, 'BatchSweepSchedule', {
      description:
        'Batch sweep: expire batches past their window, finalize cancelled ones, resume stuck finalizations',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [
        new LambdaFunction(this.batchWorker, { retryAttempts: 0, deadLetterQueue: this.deadLetters }),
      ],
    });
  }

  /**
   * The batch worker. Its rights are the data plane's where it does the data plane's work (the
   * tables, the stage's model endpoints, SES for usage alerts) plus the batch bucket's objects (read
   * inputs, write outputs: no delete) and the batch queue (consumed through the event
   * source; SendMessage to re-enqueue). No secret: it serves no HTTP request.
   */
  private createBatchWorker(props: JobsStackProps): NodejsFunction {
    const { config, main, usage } = props;
    const logGroup = new LogGroup(this, 'BatchWorkerLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'BatchWorkerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} batch worker`,
    });
    logGroup.grantWrite(role);
    const tables: Record<TableId, ITableV2> = { main, usage };
    role.addToPolicy(
      new PolicyStatement({
        sid: 'BatchTableData',
        actions: [...apiTableActions],
        resources: (Object.keys(tableDefinitions) as TableId[]).flatMap((id) => [
          tables[id].tableArn,
          ...tableDefinitions[id].indexes.map((index) => `${tables[id].tableArn}/index/${index.name}`),
        ]),
      }),
    );
    grantBatchFiles(role, config.stage, batchWorkerObjectActions, 'BatchFiles');
    role.addToPolicy(sendToQueueStatement(props.batchQueue, 'ReenqueueBatchWork'));
    const endpoints = this.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: sagemakerEndpointPattern(config.stage),
    });
    role.addToPolicy(
      new PolicyStatement({
        sid: 'InvokeModels',
        actions: [...batchWorkerModelActions],
        resources: [endpoints],
      }),
    );
    acknowledgeWildcardResource(
      role,
      endpoints,
      "The stage's endpoints by prefix, as the data plane's: batch lines run on the same versions as online requests, and endpoints come and go with the catalog; the prefix keeps other stages' and other projects' endpoints out.",
    );
    // Usage alerts that a batch line's usage may trigger, from the configured identity only.
    if (config.email) {
      role.addToPolicy(sendEmailStatement(Stack.of(this), config.email.sesIdentity, 'SendEmail'));
    }
    const fn = new NodejsFunction(this, 'BatchWorkerFunction', {
      functionName: `tollgate-${config.stage}-batch-worker`,
      description: `Tollgate ${config.stage} batch worker (batch chunks, and the batch sweep)`,
      entry: batchWorkerEntry,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: config.apiFunction.memoryMb,
      timeout: batchWorkerTimeout,
      // The bound that keeps batch off online capacity (infra/config.ts `concurrency.batchWorker`).
      reservedConcurrentExecutions: config.concurrency.batchWorker,
      // Asynchronous invocations are the sweep's (the schedule): not retried, see the rule.
      retryAttempts: 0,
      deadLetterQueue: this.deadLetters,
      role,
      logGroup,
      environment: {
        STAGE: config.stage,
        LOG_LEVEL: config.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        // Informational, as on the API planes: the code derives table names from STAGE.
        TABLE_MAIN: main.tableName,
        TABLE_USAGE: usage.tableName,
        MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
        PAST_DUE_GRACE_DAYS: String(config.billing.pastDueGraceDays),
        BATCH_BUCKET: props.batchBucket.bucketName,
        BATCH_QUEUE_URL: props.batchQueue.queueUrl,
        BATCH_WORKER_CONCURRENCY: String(batchWorkerLanes),
        ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
        ...(config.email ? { EMAIL_FROM: config.email.from } : {}),
      },
      bundling: tollgateBundling,
      tracing: Tracing.ACTIVE,
    });
    acknowledgeTracing(role);
    // Receiving, deleting and changing the visibility of the queue's messages is granted by the
    // event source, on the queue's ARN.
    fn.addEventSource(
      new SqsEventSource(props.batchQueue, {
        ...batchWorkerMapping,
        // One less than the reservation: the sweep always has its slot, and the queue's pollers
        // never invoke past the reservation (a throttled delivery would count as a receive).
        maxConcurrency: config.concurrency.batchWorker - 1,
      }),
    );
    return fn;
  }

  /**
   * The usage table's stream consumer: each batch of one stream shard is applied to the aggregates
   * exactly once (shared/metering/usage-consumer.ts), checkpointed per shard in `main`.
   */
  private createUsageConsumer(config: StageConfig, main: ITableV2, usage: ITableV2): NodejsFunction {
    const logGroup = new LogGroup(this, 'UsageConsumerLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'UsageConsumerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} usage stream consumer`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new PolicyStatement({
        sid: 'ConsumerCheckpoints',
        actions: [...consumerCheckpointActions],
        resources: [main.tableArn],
        // Its checkpoints only: every item it may read or write in `main` is in their partition.
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [consumerCheckpointPartition] },
        },
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'UsageAggregates',
        actions: [...consumerAggregateActions],
        resources: [usage.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'KeyBudgetAlerts',
        actions: [...keyBudgetMainActions],
        resources: [main.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keyBudgetMainPartitions] },
        },
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        sid: 'KeyMonthTotals',
        actions: [...keyBudgetUsageActions],
        resources: [usage.tableArn],
      }),
    );
    const fn = new NodejsFunction(this, 'UsageConsumerFunction', {
      functionName: `tollgate-${config.stage}-usage-consumer`,
      entry: usageConsumerEntry,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      // A batch is at most 500 records: a few transactions of up to 100 items, seconds at worst.
      timeout: Duration.seconds(60),
      role,
      logGroup,
      environment: {
        STAGE: config.stage,
        LOG_LEVEL: config.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        // The console's address, for the link in key budget alerts.
        ...(config.publicUrl ? { PUBLIC_URL: config.publicUrl } : {}),
      },
      bundling: tollgateBundling,
      tracing: Tracing.ACTIVE,
    });
    acknowledgeTracing(role);
    // Reading the stream (DescribeStream, GetRecords, GetShardIterator, ListStreams) is granted by
    // the event source on the stream's ARN, and sending to the on-failure queue on the queue's.
    fn.addEventSource(
      new DynamoEventSource(usage, {
        ...usageConsumerMapping,
        onFailure: new SqsDlq(this.usageConsumerFailures),
      }),
    );
    return fn;
  }
}
