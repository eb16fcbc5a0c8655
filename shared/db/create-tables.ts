import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type TableDefinition, type TableId, tableDefinitions, tableName } from './tables';

/** The usage consumer needs both images: a change counts as the new image less the old one. */
export const STREAM_VIEW = 'NEW_AND_OLD_IMAGES' as const;

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
    ...(def.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW } } : {}),
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
      if (def.stream) await ensureStreamView(client, name);
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

/**
 * A table made before the consumer needed old images publishes new images only: its stream is
 * turned off and on again with both (a new stream; the old one's records were already counted).
 */
async function ensureStreamView(client: DynamoDBClient, name: string): Promise<void> {
  const out = await client.send(new DescribeTableCommand({ TableName: name }));
  const spec = out.Table?.StreamSpecification;
  if (spec?.StreamEnabled && spec.StreamViewType === STREAM_VIEW) return;
  if (spec?.StreamEnabled) {
    await client.send(
      new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: false } }),
    );
    await waitActive(client, name);
  }
  await client.send(
    new UpdateTableCommand({
      TableName: name,
      StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW },
    }),
  );
  await waitActive(client, name);
}

async function waitActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}
