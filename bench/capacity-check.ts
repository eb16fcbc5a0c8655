import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { startEmbeddedDynamo } from '../local/dynamodb';
import { createDynamo } from '../shared/db/client';
import { startDynamoMeter } from './dynamo-meter';

/**
 * `npx tsx bench/capacity-check.ts`: checks what the round-trip run's DynamoDB units rest on,
 * against this DynamoDB Local (a table like `main`: pk, sk, gsi1 projecting everything).
 * - DynamoDB Local answers `ReturnConsumedCapacity` added by the meter (it does not check
 *   signatures, so the changed body passes) with DynamoDB's figures for single-item operations.
 * - The meter's own pricing of transactions (item sizes) equals DynamoDB Local's where Local is
 *   right (one-item transactions), and the rules where Local is not (several items).
 * Exits 1 if the meter's figure differs from the rules' in any case.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const dynamo = await startEmbeddedDynamo({ dataDir: null });
const meter = await startDynamoMeter(dynamo.endpoint);
const { doc, client } = createDynamo({ region: 'us-east-1', endpoint: meter.url });
const T = 'capacity-check';
const S = 'S' as const;
await client.send(
  new CreateTableCommand({
    TableName: T,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk'].map((AttributeName) => ({
      AttributeName,
      AttributeType: S,
    })),
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  }),
);
const x = (n: number) => 'x'.repeat(n);
const add = (pk: string, sk: string) => ({
  Update: {
    TableName: T,
    Key: { pk, sk },
    UpdateExpression: 'ADD n :one',
    ExpressionAttributeValues: { ':one': 1 },
  },
});

/** [what, the call, units by DynamoDB's rules] */
const cases: [string, () => Promise<unknown>, number][] = [
  [
    'PutItem, 1.5 KB, in gsi1',
    () =>
      doc.send(
        new PutCommand({ TableName: T, Item: { pk: 'a', sk: '1', gsi1pk: 'g', gsi1sk: '1', v: x(1500) } }),
      ),
    2 + 2,
  ],
  ['UpdateItem, new counter', () => doc.send(new UpdateCommand(add('a', '2').Update)), 1],
  [
    'GetItem, eventually consistent',
    () => doc.send(new GetCommand({ TableName: T, Key: { pk: 'a', sk: '1' } })),
    0.5,
  ],
  [
    'BatchWriteItem, 3 small puts',
    () =>
      doc.send(
        new BatchWriteCommand({
          RequestItems: { [T]: ['1', '2', '3'].map((sk) => ({ PutRequest: { Item: { pk: 'b', sk } } })) },
        }),
      ),
    3,
  ],
  [
    'TransactWriteItems, 1 small put',
    () =>
      doc.send(
        new TransactWriteCommand({ TransactItems: [{ Put: { TableName: T, Item: { pk: 'c', sk: '1' } } }] }),
      ),
    2,
  ],
  [
    'TransactWriteItems, 1 update of the 1.5 KB gsi1 item',
    () =>
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: T,
                Key: { pk: 'a', sk: '1' },
                UpdateExpression: 'SET w = :w',
                ExpressionAttributeValues: { ':w': 'y' },
              },
            },
          ],
        }),
      ),
    2 * 2 + 2 * 2,
  ],
  [
    'TransactWriteItems, 1 update moving it in gsi1',
    () =>
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: T,
                Key: { pk: 'a', sk: '1' },
                UpdateExpression: 'SET gsi1sk = :s',
                ExpressionAttributeValues: { ':s': '2' },
              },
            },
          ],
        }),
      ),
    2 * 2 + 2 * (2 + 2),
  ],
  [
    'TransactWriteItems, 2 counter updates',
    () => doc.send(new TransactWriteCommand({ TransactItems: [add('d', '1'), add('d', '2')] })),
    2 + 2,
  ],
  [
    'TransactWriteItems, 5 items like a settlement',
    () =>
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            add('e', '1'),
            add('e', '2'),
            add('e', '3'),
            add('e', '4'),
            { Put: { TableName: T, Item: { pk: 'e', sk: '5', v: x(300) } } },
          ],
        }),
      ),
    5 * 2,
  ],
];

const rows: string[] = [];
let wrong = 0;
for (const [what, run, rules] of cases) {
  meter.reset();
  await run();
  const [call] = await meter.calls();
  if (!call) throw new Error(`${what}: nothing metered`);
  const metered = call.writeUnits + call.readUnits;
  const local = call.localUnits ?? metered;
  if (metered !== rules) wrong++;
  rows.push(
    `| ${what} | ${rules} | ${metered} (${call.source}) | ${local}${local === rules ? '' : ' (wrong)'} |`,
  );
}
process.stdout.write(
  [
    '| request | units by the rules | the meter | DynamoDB Local reports |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    wrong
      ? `${wrong} case(s) where the meter differs from the rules`
      : 'The meter agrees with the rules in every case.',
    '',
  ].join('\n'),
);
client.destroy();
await meter.stop();
await dynamo.stop();
process.exit(wrong ? 1 : 0);
