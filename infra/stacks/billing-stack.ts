import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions } from '../../shared/db/tables';
import type { StageConfig } from '../config';
import { fromRoot, lockFile, repoRoot } from '../paths';
import { apiTableActions, esmRequireBanner } from './api-stack';

export interface BillingStackProps extends StackProps {
  config: StageConfig;
  tables: Record<TableId, ITableV2>;
  /** STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (as Secrets Manager references), or nothing. */
  stripeEnvironment: Record<string, string>;
}

/** Entry of the billing job, by path: infra never imports runtime code. */
export const billingSyncEntry = fromRoot('functions', 'jobs', 'billing-sync-lambda.ts');

/**
 * The billing job: an EventBridge schedule runs the meter sync (closed usage windows to Stripe)
 * and the grace clock every `billing.syncEveryMinutes`. Runs overlapping or repeating are
 * harmless (the cursor's conditional writes and the meter events' identifiers), so the schedule
 * does not retry a failed run: the next one carries on.
 */
export class BillingStack extends Stack {
  readonly syncFunction: NodejsFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: BillingStackProps) {
    super(scope, id, props);
    const { config, tables } = props;
    const logGroup = new LogGroup(this, 'BillingSyncLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Its own role, writing to its own log group only (the default role may write to every group).
    const role = new Role(this, 'BillingSyncRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${config.stage} billing sync`,
    });
    logGroup.grantWrite(role);

    this.syncFunction = new NodejsFunction(this, 'BillingSyncFunction', {
      functionName: `tollgate-${config.stage}-billing-sync`,
      entry: billingSyncEntry,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      // A run catches up at most 48 windows per tenant; a long backlog takes several runs.
      timeout: Duration.minutes(5),
      role,
      logGroup,
      environment: {
        STAGE: config.stage,
        LOG_LEVEL: config.logLevel,
        MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
        PAST_DUE_GRACE_DAYS: String(config.billing.pastDueGraceDays),
        NODE_OPTIONS: '--enable-source-maps',
        ...props.stripeEnvironment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        banner: esmRequireBanner,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        externalModules: [],
        forceDockerBundling: false,
      },
    });

    // The same table access as the API (items and queries; no Scan), on the two tables by name.
    const tableIds = Object.keys(tableDefinitions) as TableId[];
    this.syncFunction.addToRolePolicy(
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

    this.schedule = new Rule(this, 'BillingSyncSchedule', {
      description: `Tollgate ${config.stage}: send closed usage windows to Stripe, run the grace clock`,
      schedule: Schedule.rate(Duration.minutes(config.billing.syncEveryMinutes)),
      targets: [new LambdaFunction(this.syncFunction, { retryAttempts: 0 })],
    });
  }
}
