import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type TableDefinition, type TableId, tableDefinitions, tableName } from './tables';

/** The CreateTable request for a definition: the same keys and indexes the CDK stack declares. */
export function createTableInput(def: TableDefinition, name: string): CreateTableCommandInput {
  const attributes = new Set([def.partitionKey, def.sortKey]);
  for (const index of def.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: def.partitionKey, KeyType: 'HASH' },
      { AttributeName: def.sortKey, KeyType: 'RANGE' },
    ],
    ...(def.indexes.length
      ? {
          GlobalSecondaryIndexes: def.indexes.map((i) => ({
            IndexName: i.name,
            KeySchema: [
              { AttributeName: i.partitionKey, KeyType: 'HASH' },
              { AttributeName: i.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
        }
      : {}),
    ...(def.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } } : {}),
  };
}

/**
 * Creates every table of a stage that does not exist yet (idempotent, for the local runner and
 * tests; the cloud gets its tables from the CDK data stack). Returns the names it created.
 */
export async function ensureTables(client: DynamoDBClient, stage: string): Promise<string[]> {
  const created: string[] = [];
  for (const id of Object.keys(tableDefinitions) as TableId[]) {
    const def: TableDefinition = tableDefinitions[id];
    const name = tableName(stage, id);
    try {
      await client.send(new CreateTableCommand(createTableInput(def, name)));
      created.push(name);
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
      continue;
    }
    await waitActive(client, name);
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
      }),
    );
  }
  return created;
}

async function waitActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}
