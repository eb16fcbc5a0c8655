import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoOptions {
  region: string;
  /** Endpoint override (DynamoDB Local); unset in the cloud. */
  endpoint?: string;
  maxAttempts?: number;
}

export interface Dynamo {
  /** The low-level client, for table administration. */
  client: DynamoDBClient;
  /** The document client every repository uses. */
  doc: DynamoDBDocumentClient;
}

/**
 * The clients every repository uses. Against a local endpoint the SDK still wants
 * credentials; they are not checked, so fixed dummy ones are given when none are configured.
 */
export function createDynamo(opts: DynamoOptions): Dynamo {
  const local = opts.endpoint !== undefined;
  const client = new DynamoDBClient({
    region: opts.region,
    maxAttempts: opts.maxAttempts ?? 3,
    ...(local
      ? {
          endpoint: opts.endpoint,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          // Plain http to loopback: a keep-alive pool sized for concurrent requests.
          requestHandler: {
            httpAgent: { keepAlive: true, maxSockets: 128 },
            // Loopback connects in microseconds; a busy 2-core machine running DynamoDB Local's JVM,
            // the runtime and a load test at once has been seen to take over 2 s to accept.
            connectionTimeout: 5_000,
            requestTimeout: 10_000,
          },
        }
      : {}),
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, doc };
}
