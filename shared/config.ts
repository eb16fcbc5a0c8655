import { z } from 'zod';
import { parseWireVersions } from './catalog/chat-wire';

/** An unset variable and an empty one mean the same: not given. */
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url().optional());

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', ''])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');

/**
 * Every setting the platform reads, parsed once at start. Local runner and Lambda entries
 * both call `loadConfig(process.env)`; nothing below reads `process.env` itself.
 */
export const configSchema = z.object({
  /** Port of the local server (the cloud ignores it). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Deployment stage; table names are prefixed with `tollgate-<stage>-`. */
  STAGE: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,20}$/, 'lowercase letters, digits and dashes')
    .default('local'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** DynamoDB endpoint override (DynamoDB Local or a user's own); unset in the cloud. */
  DYNAMODB_ENDPOINT: optionalUrl,
  /** SageMaker Runtime endpoint override (the local model runtime); unset in the cloud. */
  SAGEMAKER_ENDPOINT: optionalUrl,
  /** Upper bound of one model call, after which the gateway answers 504. */
  MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(900_000).default(30_000),
  /**
   * Chat versions (`model@version`, comma-separated) whose containers speak TGI's Messages API
   * although `modelDeployments` says otherwise (shared/catalog/chat-wire.ts). The local runtime
   * reads the same variable, so both ends agree; tests run the offline model over the TGI wire
   * with it. Unset everywhere else: in AWS the deployment table alone decides.
   */
  LLM_WIRE_VERSIONS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseWireVersions(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * How long a quota reservation outlives the model timeout before the sweeper may release it (a
   * process that died mid-request leaves one behind). A request still running past it is billed in full.
   */
  RESERVATION_GRACE_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * How long an instance's quota lease admits requests after a refill (0: no leases, one
   * reservation transaction per request). A lease that dies with its instance is given back by
   * the sweeper this long plus MODEL_TIMEOUT_MS + RESERVATION_GRACE_MS after its last refill.
   */
  QUOTA_LEASE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /**
   * How often an instance writes its model-version health counts (one ADD per day x version);
   * what an instance that dies unflushed loses is at most this much of those stats, never billing.
   */
  HEALTH_FLUSH_MS: z.coerce.number().int().min(100).max(300_000).default(5_000),
  /**
   * How long a lease's in-flight slots stay held without word from its instance. An instance with
   * requests in flight renews them every third of this (while it runs); a frozen or dead one stops,
   * and another instance that needs the slots reclaims them once this has passed. So after a crash
   * the concurrency limit is whole again within about this long.
   */
  QUOTA_SLOT_TTL_MS: z.coerce.number().int().min(300).max(120_000).default(3_000),
  /** An idle lease (nothing in flight) gives back its unused capacity after this long. */
  QUOTA_LEASE_IDLE_MS: z.coerce.number().int().min(10).max(60_000).default(2_000),
  /**
   * Local runner: how often the usage stream is polled when it had nothing new (the aggregates
   * lag the ledger by about this much). 1 s, as the Lambda event source mapping's batching window
   * in AWS: a batch's changes are written to each aggregate once, so longer batches cost less.
   */
  USAGE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /**
   * Local runner: run the usage stream consumer in this process. Exactly one should run per store,
   * as in AWS (one Lambda per stream shard): turn it off in a second process that shares a store.
   */
  USAGE_CONSUMER: bool.default(true),
  /**
   * Local runner: work batches in this process (the stand-in for the worker function). Off: they
   * wait on the queue for a worker process of their own (`npm run batch:worker`), as in AWS.
   */
  BATCH_WORKER: bool.default(true),
  /** How often the local server sweeps expired reservations (the cloud runs the job on a schedule). */
  RESERVATION_SWEEP_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  /** How long a verified API key (and its tenant) may be served from memory; also the revocation lag. */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** How long the model catalog is served from memory before it is read again. */
  CATALOG_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  /**
   * Local only: image URLs may be plain `http` to loopback addresses, so tests and a laptop can
   * serve images from 127.0.0.1. Off by default; refused in Lambda (the cloud fetches https only,
   * never from its own network).
   */
  IMAGE_URL_ALLOW_LOOPBACK_HTTP: bool.default(false),
  /** The whole fetch of an image URL (redirects included), after which the request is a 400. */
  IMAGE_URL_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  /** Largest request body accepted, in bytes. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  /** Where batch files live (S3 bucket). Locally a bucket of the S3-compatible server `npm start` runs. */
  BATCH_BUCKET: z.string().min(3).max(63).default('tollgate-batch-files'),
  /** An S3-compatible endpoint (the local one); unset in AWS. */
  S3_ENDPOINT: optionalUrl,
  /** The batch work queue (SQS); unset: a queue kept in the main table (local runs). */
  BATCH_QUEUE_URL: optionalUrl,
  /** Largest batch input file, in bytes (an API Lambda takes at most 6 MB of request). */
  BATCH_FILE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /** Most lines in one batch input file. */
  BATCH_MAX_LINES: z.coerce.number().int().min(1).max(50_000).default(50_000),
  /** Lines per unit of work (one queue message). */
  BATCH_CHUNK_LINES: z.coerce.number().int().min(1).max(1_000).default(50),
  /** Batch lines a tenant may enqueue per UTC day: the batch limit, apart from the online limits. */
  BATCH_LINES_PER_DAY: z.coerce.number().int().min(1).max(100_000_000).default(200_000),
  /** Lines of one chunk a worker runs at once (the local worker, and each worker function invocation in AWS). */
  BATCH_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Local runs: how long a work message taken by a worker stays hidden before another may take it
   * (SQS's visibility timeout, set by the Jobs stack in AWS): the longest a dead worker's chunk waits.
   */
  BATCH_VISIBILITY_MS: z.coerce.number().int().min(500).max(3_600_000).default(300_000),
  /** Local runs: how often the worker polls the queue when it is empty, and the batch sweep's period. */
  BATCH_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** Local server: all request headers must arrive within this (a slow-loris client gets 408). */
  SERVER_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Local server: the whole request, body included, must arrive within this (never less than the headers' limit). */
  SERVER_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Local server: an idle keep-alive connection is closed after this. */
  SERVER_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /**
   * Log the first 200 characters of each chat and text prompt at debug level. Off by default:
   * prompts are tenants' data; turn on only to debug, with LOG_LEVEL=debug.
   */
  LOG_PROMPTS: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Local runner: keep DynamoDB Local in memory instead of under DATA_DIR. */
  TOLLGATE_IN_MEMORY: bool.default(false),
  /** Local runner: where DynamoDB Local keeps its files. */
  DATA_DIR: z.string().min(1).default('.data'),
  /**
   * Local runner (`npm start`): fetch the default real chat model in the background when its
   * weights are missing and HF_ENDPOINT can be reached.
   */
  MODEL_DOWNLOAD: bool.default(true),
  /** The Hugging Face hub models are fetched from (a mirror, or a local server in tests). */
  HF_ENDPOINT: z.string().url().default('https://huggingface.co'),
  /**
   * Base URL people reach the platform at; links in emails point here. Unset: the local server's,
   * `http://localhost:<PORT>` (defaultPublicUrl), so that the links follow PORT.
   */
  PUBLIC_URL: optionalUrl,
  /** Browser origins (comma-separated) besides PUBLIC_URL's whose cookie-authenticated writes are accepted. */
  CONSOLE_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url())),
  /**
   * Session signing keys: a JWK set (JSON) of ES256 private keys, each with a `kid`; the first
   * signs, all verify (so a key can be rotated in before the old one is dropped). The local runner
   * generates and keeps one when unset.
   */
  JWT_PRIVATE_JWKS: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /**
   * The secret CloudFront's API origins send (shared/http/client-ip.ts): with it, the viewer's
   * address CloudFront passes is believed for the per-IP limits. Unset locally (no CDN in front).
   */
  EDGE_SECRET: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(32).optional()),
  /**
   * Local stack only: the header a trusted proxy in front of the local server sets to the client's
   * address (e.g. `x-real-ip`), believed for key IP ranges and per-IP limits. Unset (the default):
   * no header is believed, X-Forwarded-For included, and the socket's address is the client's. Set
   * it only when every request reaches the server through that proxy. Lambda ignores it (API
   * Gateway's source address, or CloudFront's with EDGE_SECRET).
   */
  CLIENT_IP_HEADER: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name')
      .transform((v) => v.toLowerCase())
      .optional(),
  ),
  /** Lifetime of a session access token (JWT). */
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  /** Lifetime of a session (its refresh token): the longest anyone stays logged in. */
  REFRESH_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(90 * 86_400)
    .default(30 * 86_400),
  /** Failed logins allowed per email address, and per client IP, in one LOGIN_WINDOW_SECONDS window. */
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(50),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /**
   * Longest login lockout. A subject (address or IP) that runs out of attempts is locked out for
   * LOGIN_WINDOW_SECONDS, the next time for twice that, and so on up to this; strikes are
   * forgotten a day after the last lockout, or (per address) at the next successful login.
   */
  LOGIN_LOCKOUT_MAX_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .default(86_400),
  /**
   * Invalid API keys allowed per client IP in one API_KEY_FAILURE_WINDOW_SECONDS window; past it,
   * further invalid keys from that IP get 429 with Retry-After instead of 401 (valid keys pass).
   */
  API_KEY_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(30),
  API_KEY_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Sender of account emails (verification, password reset, invitations). */
  EMAIL_FROM: z.string().min(3).default('Tollgate <no-reply@tollgate.localhost>'),
  /** The first operator, created at first start of the local runner when both are set. */
  OPERATOR_EMAIL: z.preprocess((v) => (v === '' ? undefined : v), z.email().optional()),
  OPERATOR_PASSWORD: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(12).optional()),
  /**
   * Stripe secret key (`sk_test_...` or `sk_live_...`, or a restricted `rk_` key). Unset: billing
   * stays in the ledger (invoices are previewed, nothing is charged).
   */
  STRIPE_SECRET_KEY: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^(sk|rk)_(test|live)_\w+$/, 'must look like sk_test_..., sk_live_... or rk_...')
      .optional(),
  ),
  /** The webhook endpoint's signing secret (`whsec_...`); without it Stripe's events are refused. */
  STRIPE_WEBHOOK_SECRET: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().startsWith('whsec_', 'must start with whsec_').optional(),
  ),
  /** Where the Stripe SDK sends requests instead of api.stripe.com (tests' fake Stripe). */
  STRIPE_API_BASE: optionalUrl,
  /** Upper bound of one Stripe API call. */
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(100).max(80_000).default(20_000),
  /**
   * Retries the Stripe SDK makes itself on connection errors, 409 (a concurrent request with the
   * same idempotency key) and 5xx, always with the same idempotency key. 429s are the meter
   * sync's to pace, not the SDK's.
   */
  STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /** How old a webhook's signed timestamp may be before the event is refused as a replay. */
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** How often the local server sends closed usage windows to Stripe (the cloud uses a schedule). */
  BILLING_SYNC_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** Days a tenant whose payment failed keeps calling (with a warning) before it is suspended. */
  PAST_DUE_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  /** The console page Checkout and the customer portal return to (default: PUBLIC_URL + /billing). */
  BILLING_RETURN_URL: optionalUrl,
});

export type Config = Omit<z.infer<typeof configSchema>, 'PUBLIC_URL'> & { PUBLIC_URL: string };

/**
 * PUBLIC_URL when it is not set: the local server on PORT. (Given PORT=0, the local runner uses
 * the port it got instead.)
 */
export function defaultPublicUrl(port: number): string {
  return `http://localhost:${port}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; fails with the name of every bad field. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    // Settings for the local stack and its tests only: in a Lambda function they are a mistake.
    const localOnly = [
      parsed.data.IMAGE_URL_ALLOW_LOOPBACK_HTTP &&
        'IMAGE_URL_ALLOW_LOOPBACK_HTTP: local only; a Lambda function never fetches from loopback',
      (env.LLM_WIRE_VERSIONS ?? '').trim() &&
        'LLM_WIRE_VERSIONS: local only; in AWS the deployment table alone says which wire a version speaks',
    ].filter(Boolean);
    if (localOnly.length) throw new ConfigError(`invalid configuration:\n  ${localOnly.join('\n  ')}`);
  }
  return { ...parsed.data, PUBLIC_URL: parsed.data.PUBLIC_URL ?? defaultPublicUrl(parsed.data.PORT) };
}
