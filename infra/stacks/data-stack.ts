import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
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

/** Tables keyed by their id in `tableDefinitions`, so consumers can't mix them up. */
export type Tables = Record<TableId, TableV2>;

/**
 * The stateful stack: DynamoDB tables. Kept apart from the compute stacks so those can be torn
 * down and redeployed freely, and so prod data has its own retention and deletion guard.
 */
export class DataStack extends Stack {
  readonly tables: Tables;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    const ids = Object.keys(tableDefinitions) as TableId[];
    this.tables = Object.fromEntries(
      ids.map((tableId) => [tableId, this.createTable(config, tableId, tableDefinitions[tableId])]),
    ) as Tables;
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
