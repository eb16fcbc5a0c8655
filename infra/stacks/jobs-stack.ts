import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { tableDefinitions } from '../../shared/db/tables';
import { tollgateBundling } from '../bundling';
import type { StageConfig } from '../config';
import { fromRoot, lockFile, repoRoot } from '../paths';

export interface JobsStackProps extends StackProps {
  config: StageConfig;
  /** The `main` table: quota counters and reservations live there. */
  main: ITableV2;
}

/** Entry of the reservation sweeper, by path. */
export const sweeperEntry = fromRoot('functions', 'jobs', 'sweep-reservations-lambda.ts');

/**
 * What the sweeper does to `main`: find expired reservations in gsi1, then release each in one
 * transaction (delete the reservation, give back the counters).
 */
export const sweeperTableActions = ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'] as const;

/**
 * Scheduled work off the request path. Today: the quota reservation sweeper, once a minute (a
 * request whose process died never settles; its reservation is released within a minute of its
 * expiry). The billing sync joins this stack.
 */
export class JobsStack extends Stack {
  readonly sweeper: NodejsFunction;
  readonly sweeperSchedule: Rule;

  constructor(scope: Construct, id: string, props: JobsStackProps) {
    super(scope, id, props);
    const { config, main } = props;
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
      role,
      logGroup,
      environment: { STAGE: config.stage, LOG_LEVEL: config.logLevel, NODE_OPTIONS: '--enable-source-maps' },
      bundling: tollgateBundling,
    });
    this.sweeperSchedule = new Rule(this, 'SweeperSchedule', {
      description: 'Release quota reservations of requests that never settled',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 2 })],
    });
  }
}
