import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
// Pure data (no SDK): the one declaration of keys and indexes that the runtime code queries.
import { type TableDefinition, type TableId, tableDefinitions, tableName } from '../../shared/db/tables';
import type { StageConfig } from '../config';

export interface DataStackProps extends StackProps {
  config: StageConfig;
}

/**
 * What a streamed table (`stream: true`: the usage table) publishes: both images, because the usage
 * consumer (functions/jobs/usage-consumer-lambda.ts) counts a change as its new image less its old
 * one (a void, a stream's close). The local runner declares the same view as `STREAM_VIEW` in
 * shared/db/create-tables.ts, which imports the AWS SDK and so is not imported here;
 * test/infra/data-stack.test.ts holds the two equal.
 */
export const streamView = StreamViewType.NEW_AND_OLD_IMAGES;

/**
 * How long a batch file (an upload, a batch's output or error file) stays in the bucket: 30 days
 * unless deleted first (`DELETE /v1/files/{id}`). The bucket's lifecycle rule expires objects this
 * old, whatever the app does: a file nobody deletes does not stay (and bill) forever.
 */
export const batchFileRetentionDays = 30;

/**
 * The batch bucket's name: the stage's, this account's and region's (bucket names are global). A
 * fixed name so the roles that use it can name its objects in their policies as plain text
 * (`batchFilesObjectsArn`): the imported ARN of a generated name would make their `/*` wildcard
 * unreadable to the policy checks (cdk-nag names the finding after the export).
 */
export function batchBucketName(stage: string, account: string, region: string): string {
  return `tollgate-${stage}-batch-files-${account}-${region}`;
}

/** The stage's batch bucket (`arn:aws:s3:::<bucket>`), as a stack in `scope`'s account and region names it. */
export function batchBucketArn(scope: Construct, stage: string): string {
  const stack = Stack.of(scope);
  return stack.formatArn({
    service: 's3',
    region: '',
    account: '',
    resource: batchBucketName(stage, stack.account, stack.region),
  });
}

/** Every object of the stage's batch bucket (`arn:aws:s3:::<bucket>/*`), as a stack in `scope`'s account and region names it. */
export function batchFilesObjectsArn(scope: Construct, stage: string): string {
  const stack = Stack.of(scope);
  return stack.formatArn({
    service: 's3',
    region: '',
    account: '',
    resource: batchBucketName(stage, stack.account, stack.region),
    resourceName: '*',
  });
}

/**
 * The batch worker's timeout (Jobs stack): one chunk of a batch per invocation. The work queue's
 * visibility timeout is `batchVisibilityTimeoutFactor` times it (AWS's advice for Lambda event
 * sources): a message in flight is not handed to a second worker while the first may still run,
 * its retries included.
 */
export const batchWorkerTimeout = Duration.minutes(5);
export const batchVisibilityTimeoutFactor = 6;

/**
 * Deliveries of one work queue message before SQS moves it to the dead-letter queue: a chunk whose
 * worker failed (crashed, timed out, or reported it failed) this many times is a poison message,
 * not a transient error. The worker's writes are idempotent per line, so the retries before it are
 * harmless.
 */
export const batchMaxReceiveCount = 5;

/** Tables keyed by their id in `tableDefinitions`, so consumers can't mix them up. */
export type Tables = Record<TableId, TableV2>;

/**
 * The stateful stack: DynamoDB tables, and batch's files (S3) and work queue (SQS). Kept apart from
 * the compute stacks so those can be torn down and redeployed freely, and so prod data has its own
 * retention and deletion guard. The batch plane (Api stack) and the batch worker (Jobs stack) both
 * use the bucket and the queue, and the Jobs stack already depends on the Api stack: here, neither
 * compute stack owns what the other needs.
 */
export class DataStack extends Stack {
  readonly tables: Tables;
  /**
   * Batch files: uploads (`purpose: batch`), and each batch's output and error files. Private,
   * TLS-only, encrypted, unversioned (a deleted file is gone), expired after
   * `batchFileRetentionDays`; retained with the tables in prod.
   */
  readonly batchBucket: Bucket;
  /** Batch work: one message per chunk of a batch's lines, consumed by the batch worker. */
  readonly batchQueue: Queue;
  /** Chunks that failed `batchMaxReceiveCount` deliveries; alarmed on by the Observability stack. */
  readonly batchDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    const ids = Object.keys(tableDefinitions) as TableId[];
    this.tables = Object.fromEntries(
      ids.map((tableId) => [tableId, this.createTable(config, tableId, tableDefinitions[tableId])]),
    ) as Tables;
    const retain = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.batchBucket = new Bucket(this, 'BatchFiles', {
      bucketName: batchBucketName(config.stage, this.account, this.region),
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Bucket-owner-enforced: no ACLs at all, access is the bucket's policy and the two roles'.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Off: a deleted file must be gone, not kept as a noncurrent version.
      versioned: false,
      lifecycleRules: [
        {
          id: 'expire-batch-files',
          expiration: Duration.days(batchFileRetentionDays),
          // An upload that never completed (a worker that died mid-write) leaves parts that bill.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Like the tables: kept in prod. A dev stage's bucket is deleted with the stack once empty
      // (no auto-delete: that is one more function, holding s3:DeleteObject on every file).
      removalPolicy: retain,
    });
    Validations.of(this.batchBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the batch plane and the batch worker are granted anything on this bucket, and every file read, write or delete is part of one of their requests or chunks, which their own log groups and traces record; S3 server access logs would add a second record of the same operations in a log bucket of its own.',
    });

    this.batchDeadLetters = new Queue(this, 'BatchDeadLetters', {
      queueName: `tollgate-${config.stage}-batch-dead-letters`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps a message: whoever looks at a failed chunk needs its batch and range.
      retentionPeriod: Duration.days(14),
      removalPolicy: retain,
    });
    Validations.of(this.batchDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the batch work queue (chunks that failed every delivery); nothing consumes it, so a dead-letter queue behind it would only move the finding.',
    });
    this.batchQueue = new Queue(this, 'BatchWork', {
      queueName: `tollgate-${config.stage}-batch-work`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(batchWorkerTimeout.toSeconds() * batchVisibilityTimeoutFactor),
      // Longer than a batch's 24-hour completion window: a chunk still queued when its batch
      // expires is taken off by the worker (the batch sweep marks its lines expired).
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.batchDeadLetters, maxReceiveCount: batchMaxReceiveCount },
      removalPolicy: retain,
    });
  }

  private createTable(config: StageConfig, id: TableId, def: TableDefinition): TableV2 {
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    return new TableV2(this, `Table-${id}`, {
      tableName: tableName(config.stage, id),
      partitionKey: key(def.partitionKey),
      sortKey: key(def.sortKey),
      globalSecondaryIndexes: def.indexes.map((index) => ({
        indexName: index.name,
        partitionKey: key(index.partitionKey),
        sortKey: key(index.sortKey),
        // ALL: the code reads whole items from the indexes; a narrower projection would make a
        // new attribute silently missing on index reads.
        projectionType: ProjectionType.ALL,
      })),
      // On-demand: traffic is spiky per tenant and unknown up front; no capacity to babysit.
      billing: Billing.onDemand(),
      timeToLiveAttribute: def.ttlAttribute,
      // Both images: usage records are updated after they are written (a void, a stream's close), and
      // the consumer derives the aggregates from each change's difference. Changing a view type
      // replaces the stream: CloudFormation turns it off and on again with the table in place, and a
      // consumer starts over from the new stream's horizon (the old stream's records are not in it).
      // The Jobs stack imports the stream's ARN for its event source mapping, and CloudFormation
      // refuses to change an export that is in use: a later change of the view type needs the
      // mapping removed (or pointed elsewhere) in one deploy and restored in the next.
      ...(def.stream ? { dynamoStream: streamView } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // AWS-managed KMS key: encryption at rest visible in CloudTrail, no key policy to own yet.
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: config.retainData,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
