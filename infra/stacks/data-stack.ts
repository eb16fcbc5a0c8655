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
      // NEW_IMAGE is all the metering consumer needs (usage events are written once, never updated).
      ...(def.stream ? { dynamoStream: StreamViewType.NEW_IMAGE } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // AWS-managed KMS key: encryption at rest visible in CloudTrail, no key policy to own yet.
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: config.retainData,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
