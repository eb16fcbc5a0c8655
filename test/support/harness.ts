import { randomBytes } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { Context } from 'hono';
import { expect, inject } from 'vitest';
import type { ApiDeps } from '#api/http/env';
import { createApiDeps, createStores, type Stores } from '#api/wiring/deps';
import type { DynamoWorkQueue } from '#shared/batch/work-queue';
import { createApiApp } from '../../functions/api/app';
import { type BatchWorker, createBatchWorker } from '../../functions/jobs/batch-worker';
import { ensureBucket } from '../../local/s3';
import { seedCatalogIfAbsent } from '../../local/seed';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { generateSigningJwk, JwksSigningKeys } from '../../shared/auth/sessions/signing-keys';
import { type Config, loadConfig } from '../../shared/config';
import type { Dynamo } from '../../shared/db/client';
import { ensureTables } from '../../shared/db/create-tables';
import { tableName } from '../../shared/db/tables';
import { OutboxEmailSender } from '../../shared/email/outbox-sender';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { StreamPoller } from '../../shared/metering/stream-poller';
import type { ModelClient } from '../../shared/models/model-client';
import type { MetricsSink } from '../../shared/observability/metrics-sink';
import type { LimitOverrides } from '../../shared/quotas/plans';
import type { TenantStatus } from '../../shared/tenants/tenant-store';
import { recordStatuses } from './observed-statuses';

export interface TestTenant {
  tenantId: string;
  keyId: string;
  /** The API key's secret. */
  key: string;
}

/** Everything a test needs: the app in process over real DynamoDB Local and the real model runtime. */
export interface Harness {
  config: Config;
  stores: Stores;
  deps: ApiDeps;
  app: ReturnType<typeof createApiApp>;
  /** Every log line the app wrote, as text. */
  logs: string[];
  /** The emails the app "sent" (the email port's test double). */
  outbox: OutboxEmailSender;
  /** The session signing keys this app uses (tests forge tokens with them). */
  signingKeys: JwksSigningKeys;
  newTenant(opts?: {
    status?: TenantStatus;
    keyExpiresAt?: string | null;
    plan?: string;
    limitOverrides?: LimitOverrides;
    spendCapNanoUsd?: number;
  }): Promise<TestTenant>;
  /**
   * Applies every usage record change the stream holds to the aggregates (what the consumer does
   * off the hot path). `call` does it before every request that is not a model call, so reads of
   * usage see what was served before them.
   */
  drainUsage(): Promise<number>;
  /**
   * The batch worker over this app's deps, and `runBatches()`: works every message on the batch
   * queue (as the worker function does for SQS) until it is empty, then sweeps.
   */
  batchWorker: BatchWorker;
  runBatches(opts?: { worker?: BatchWorker }): Promise<number>;
  /** Calls the app in process. `json` sets the body and content type. */
  call(
    path: string,
    opts?: {
      method?: string;
      key?: string;
      json?: unknown;
      // A string, or a multipart upload (its content type and boundary are set from it).
      body?: string | FormData;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
}

/** `test/api/x.test.ts > suite > test`: who made a request, for the recorded statuses. */
function currentTest(): string {
  const { testPath, currentTestName } = expect.getState();
  const file = testPath ? relative(resolve(import.meta.dirname, '../..'), testPath) : '';
  return [file, currentTestName].filter(Boolean).join(' > ');
}

/**
 * An isolated world for one test file: its own stage (so its own tables) in the shared DynamoDB
 * Local, the seed catalog, and helpers to make tenants and keys. Options override config or adapters.
 */
export async function createHarness(
  opts: {
    env?: Record<string, string>;
    models?: ModelClient;
    now?: () => Date;
    /** Another app over the same tables (a second instance, with its own caches). */
    sameTablesAs?: Harness;
    /** Where the app's metrics go (default: debug log lines). */
    metrics?: MetricsSink;
    /** The DynamoDB client every store uses (e.g. one with store faults injected). */
    dynamo?: Dynamo;
    /** The caller's address as the runtime would vouch for it (default: `x-test-client-ip`, else 192.0.2.1). */
    clientIp?: (c: Context, config: Config) => string | null;
  } = {},
): Promise<Harness> {
  const stage = opts.sameTablesAs?.config.STAGE ?? `t${randomBytes(5).toString('hex')}`;
  const config = loadConfig({
    STAGE: stage,
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    SAGEMAKER_ENDPOINT: inject('runtimeUrl'),
    S3_ENDPOINT: inject('s3Endpoint'),
    BATCH_BUCKET: `tollgate-${stage}`,
    AUTH_CACHE_TTL_MS: '0',
    LOG_LEVEL: 'debug',
    // Model health counts are written when a test flushes them, never by a background write in
    // the middle of a test that counts the store's calls.
    HEALTH_FLUSH_MS: '300000',
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const log = createLogger(config.LOG_LEVEL, sink);
  const stores = createStores(config, { dynamo: opts.dynamo });
  await ensureTables(stores.dynamo.client, stage);
  // The runtime process was started for stage `test`: point the catalog at its endpoints.
  await seedCatalogIfAbsent(stores, 'test');
  await ensureBucket(config.S3_ENDPOINT!, config.BATCH_BUCKET);
  const outbox = new OutboxEmailSender({ now: opts.now });
  const signingKeys = opts.sameTablesAs?.signingKeys ?? new JwksSigningKeys([await generateSigningJwk()]);
  const deps = createApiDeps(config, log, {
    stores,
    models: opts.models,
    metrics: opts.metrics,
    now: opts.now,
    email: outbox,
    signingKeys,
    // The test stands in for the network: a caller's IP is whatever the test says it is.
    clientIp: opts.clientIp
      ? (c) => opts.clientIp?.(c, config) ?? null
      : (c) => c.req.header('x-test-client-ip') ?? '192.0.2.1',
  });
  // Every answer is recorded, for the check of the spec's statuses (observed-statuses.ts).
  const app = recordStatuses(createApiApp(deps), currentTest);
  const poller = new StreamPoller(stores.dynamo.client, tableName(stage, 'usage'), stores.usageConsumer);
  const isModelCall = (method: string, path: string) => method === 'POST' && path.startsWith('/v1/');
  const batchWorker = createBatchWorker({ data: deps, batch: deps.batch });
  const queue = deps.batch.queue as DynamoWorkQueue;

  return {
    config,
    stores,
    deps,
    app,
    logs,
    outbox,
    signingKeys,
    async newTenant({
      status = 'active',
      keyExpiresAt = null,
      plan = 'free',
      limitOverrides,
      spendCapNanoUsd,
    } = {}) {
      const tenantId = newId('ten');
      await stores.tenants.create({
        id: tenantId,
        name: 'Test',
        status,
        plan,
        createdAt: new Date().toISOString(),
        ...(limitOverrides ? { limitOverrides } : {}),
        ...(spendCapNanoUsd !== undefined ? { spendCapNanoUsd } : {}),
      });
      const { key, secret } = await issueApiKey(stores.apiKeys, {
        tenantId,
        name: 'test',
        expiresAt: keyExpiresAt,
      });
      return { tenantId, keyId: key.id, key: secret };
    },
    drainUsage: () => poller.drain(),
    batchWorker,
    async runBatches({ worker = batchWorker } = {}) {
      let worked = 0;
      for (;;) {
        const [m] = await queue.receive(1);
        if (!m) break;
        await worker.handle(m.body, m.receives);
        await queue.delete(m);
        worked++;
      }
      await worker.sweep();
      return worked;
    },
    async call(path, { method, key, json, body, headers = {} } = {}) {
      const verb = method ?? (json !== undefined || body !== undefined ? 'POST' : 'GET');
      // A store that is down (fault tests) fails the drain, not the call under test.
      if (!isModelCall(verb, path)) {
        const bounded = new Promise<number>((resolve) => setTimeout(() => resolve(0), 3_000).unref());
        await Promise.race([poller.drain().catch(() => 0), bounded]);
      }
      const h: Record<string, string> = { ...headers };
      if (key) h.authorization = `Bearer ${key}`;
      if (json !== undefined) h['content-type'] ??= 'application/json';
      return app.request(path, {
        method: verb,
        headers: h,
        body: json !== undefined ? JSON.stringify(json) : body,
      });
    },
  };
}
