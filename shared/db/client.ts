import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { raiseStoreUnavailable } from './store-errors';

export interface DynamoOptions {
  region: string;
  /** Endpoint override (DynamoDB Local); unset in the cloud. */
  endpoint?: string;
  /** Attempts per call, the first included (default `DYNAMO_MAX_ATTEMPTS`). */
  maxAttempts?: number;
  /** How long one attempt may wait for its answer before it is abandoned (and retried). */
  requestTimeoutMs?: number;
}

/**
 * The store's retry policy, deliberately small: a request waits on the store at most
 * `DYNAMO_MAX_ATTEMPTS` attempts, each bounded by the request timeout, separated by a
 * full-jitter back-off (uniform in [0, min(cap, base x 2^attempt)]) so that instances throttled
 * together do not retry together. The SDK's retry quota (a token bucket per client) stops
 * retrying altogether when most calls fail, instead of multiplying the load on a store in trouble.
 * Throttling (ProvisionedThroughputExceeded, ThrottlingException), 5xx and timeouts are retried;
 * anything else surfaces at once. Past the attempts the call fails with one `StoreUnavailableError`
 * (see `raiseStoreUnavailable`), which the API answers as 503 `store_unavailable`.
 * A transaction keeps its ClientRequestToken across the SDK's retries, so one whose earlier
 * attempt landed unacknowledged is not applied twice.
 */
export const DYNAMO_MAX_ATTEMPTS = 3;
export const DYNAMO_BACKOFF_BASE_MS = 20;
export const DYNAMO_BACKOFF_CAP_MS = 200;
/**
 * The cloud's per-attempt timeout: DynamoDB answers in milliseconds; seconds mean trouble. (The
 * handler only warns at `requestTimeout` unless `throwOnRequestTimeout` is set: it is, below.)
 */
const CLOUD_REQUEST_TIMEOUT_MS = 2_000;
// Loopback connects in microseconds, but a busy 2-core machine running DynamoDB Local's JVM, the
// runtime and a load test at once has been seen to take over 2 s to accept and over 10 s to answer
// a burst: locally the timeout only catches a store that has stopped answering.
const LOCAL_REQUEST_TIMEOUT_MS = 30_000;

/** Full jitter: the delay before retry number `attempt` (1 = the first retry). */
export function storeBackoffMs(attempt: number, random = Math.random): number {
  return Math.floor(random() * Math.min(DYNAMO_BACKOFF_CAP_MS, DYNAMO_BACKOFF_BASE_MS * 2 ** attempt));
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
  const requestTimeout =
    opts.requestTimeoutMs ?? (local ? LOCAL_REQUEST_TIMEOUT_MS : CLOUD_REQUEST_TIMEOUT_MS);
  const client = new DynamoDBClient({
    region: opts.region,
    retryStrategy: new ConfiguredRetryStrategy(opts.maxAttempts ?? DYNAMO_MAX_ATTEMPTS, storeBackoffMs),
    ...(local
      ? {
          endpoint: opts.endpoint,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          // Plain http to loopback: a keep-alive pool sized for concurrent requests.
          requestHandler: {
            httpAgent: { keepAlive: true, maxSockets: 128 },
            connectionTimeout: 5_000,
            requestTimeout,
            throwOnRequestTimeout: true,
          },
        }
      : { requestHandler: { connectionTimeout: 1_000, requestTimeout, throwOnRequestTimeout: true } }),
  });
  raiseStoreUnavailable(client);
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, doc };
}
