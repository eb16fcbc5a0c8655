import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import { tollgateBundling } from '../bundling';
import type { StageConfig } from '../config';
import { fromRoot, lockFile, repoRoot } from '../paths';
import { apiTableActions, sendEmailStatement } from './api-stack';

export interface JobsStackProps extends StackProps {
  config: StageConfig;
  /** The `main` table: quota counters and reservations live there. */
  main: ITableV2;
  /** The `usage` table: the billing sync reads the usage events. */
  usage: ITableV2;
  /** Stripe's keys (from the Api stack): the billing sync reads them, and no other secret. */
  stripeSecret: ISecret;
}

/** Entry of the reservation sweeper, by path. */
export const sweeperEntry = fromRoot('functions', 'jobs', 'sweep-reservations-lambda.ts');

/** Entry of the billing sync (meter sync to Stripe, then the grace clock), by path. */
export const billingSyncEntry = fromRoot('functions', 'jobs', 'billing-sync-lambda.ts');

/**
 * What the sweeper does to `main`: find expired reservations and leases in gsi1, read a lease's
 * granted and settled amounts (GetItem), then release each in one transaction (delete it, give
 * back the counters).
 */
export const sweeperTableActions = [
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
] as const;

/**
 * Scheduled work off the request path: the quota reservation sweeper, once a minute (a request
 * whose process died never settles; its reservation is released within a minute of its expiry),
 * and the billing sync every `billing.syncEveryMinutes` (closed usage windows to Stripe's meters,
 * then the grace clock that suspends tenants past due too long).
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
      environment: { STAGE: config.stage, LOG_LEVEL: config.logLevel, NODE_OPTIONS: '--enable-source-maps' },
      bundling: tollgateBundling,
    });
    this.sweeperSchedule = new Rule(this, 'SweeperSchedule', {
      description: 'Release quota reservations of requests that never settled',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 2, deadLetterQueue: this.deadLetters })],
    });
    // The billing sync: the same table access as the API (items and queries, no Scan) on both
    // tables, and the Stripe secret. Runs overlapping or repeating are
    // harmless (the cursor's conditional writes, the meter events' identifiers), so a failed run
    // is not retried: the next one carries on from each tenant's cursor.
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
      // A run catches up at most 48 windows per tenant; a longer backlog takes several runs.
      timeout: Duration.minutes(5),
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
    });
    this.billingSyncSchedule = new Rule(this, 'BillingSyncSchedule', {
      description: 'Send closed usage windows to Stripe; suspend tenants past due beyond the grace period',
      schedule: Schedule.rate(Duration.minutes(config.billing.syncEveryMinutes)),
      targets: [
        new LambdaFunction(this.billingSync, { retryAttempts: 0, deadLetterQueue: this.deadLetters }),
      ],
    });
  }
}
