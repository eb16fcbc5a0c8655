import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { createApiApp } from '../functions/api/app';
import { createApiDeps, createStores } from '../functions/api/wiring/deps';
import { pollBatchQueue } from '../functions/jobs/batch-poller';
import { createBatchWorker } from '../functions/jobs/batch-worker';
import { type BillingSyncResult, billingSync } from '../functions/jobs/billing-sync';
import { sweepReservations } from '../functions/jobs/sweep-reservations';
import { createOperator } from '../shared/accounts/operators';
import { DynamoWorkQueue } from '../shared/batch/work-queue';
import { type Config, defaultPublicUrl } from '../shared/config';
import { ensureTables } from '../shared/db/create-tables';
import { tableNames } from '../shared/db/tables';
import { OutboxEmailSender, type OutboxMessage } from '../shared/email/outbox-sender';
import { ApiError } from '../shared/errors';
import { localClientAddress } from '../shared/http/client-ip';
import { wantsHsts } from '../shared/http/hsts';
import type { Logger } from '../shared/logger';
import { StreamPoller } from '../shared/metering/stream-poller';
import { type SupervisedDynamo, superviseDynamo } from './dynamodb-supervisor';
import { listen, serverTimeouts } from './http-server';
import { type ChatModelFetch, fetchDefaultChatModel, syncModelAvailability } from './model-install';
import { type SupervisedRuntime, superviseRuntime } from './runtime/supervisor';
import { ensureBucket, type LocalS3, startLocalS3 } from './s3';
import { type DemoSeed, seedCatalogIfAbsent, seedDemoTenant } from './seed';
import { localSigningKeys } from './signing-keys';
import { serveConsole } from './web-console';

export interface LocalStack {
  url: string;
  port: number;
  dynamoEndpoint: string;
  /** The local model runtime's SageMaker-compatible URL. */
  runtimeUrl: string;
  /** The runtime process this stack supervises (restarted if it dies); null when SAGEMAKER_ENDPOINT is given. */
  runtime: Pick<SupervisedRuntime, 'pid' | 'restarts'> | null;
  /** The DynamoDB Local this stack supervises (restarted if it dies); null when DYNAMODB_ENDPOINT is given. */
  dynamo: Pick<SupervisedDynamo, 'pid' | 'restarts' | 'state'> | null;
  /** The local S3-compatible server batch files are kept in; null when S3_ENDPOINT is given. */
  s3Endpoint: string | null;
  /** Where DynamoDB Local keeps its files; null when in memory or external. */
  dataPath: string | null;
  demo: DemoSeed;
  config: Config;
  /** Account emails this stack "sent" (also at `GET /_local/outbox`). */
  outbox: OutboxEmailSender;
  /**
   * The operator from OPERATOR_EMAIL, when configured (`created` on the start that made it); else
   * the first operator the store holds (made with `npm run admin`); null when there is none.
   */
  operator: { email: string; created: boolean } | null;
  /** `stripe` when STRIPE_SECRET_KEY is set (the meter sync runs every BILLING_SYNC_MS), else `ledger`. */
  billing: 'stripe' | 'ledger';
  /**
   * What plain `chat` serves now, and the background fetch of the real chat model (null unless
   * `fetchModels`): it resolves once the model serves, or the hub could not be reached.
   */
  models: { chat: string; fetch: Promise<ChatModelFetch> | null };
  /** One meter-sync run now (the timer's job), e.g. after a test served usage. */
  runBillingSync(now?: Date): Promise<BillingSyncResult>;
  /** Applies what the usage stream holds to the aggregates now (the poller does it every USAGE_POLL_MS). */
  drainUsage(): Promise<number>;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Where outbox emails are printed (default: stdout). Never the logger: emails carry tokens. */
  print?: (text: string) => void;
  /** The built console to serve at `/` (default: web/dist). */
  consoleDir?: string;
  /** Fetch the default real chat model in the background when it is missing (`npm start`). */
  fetchModels?: boolean;
  /**
   * Work batches in this process (default). Off: batches wait on the queue for a worker process
   * (`npm run batch:worker`), as they would for the worker function in AWS.
   */
  batchWorker?: boolean;
}

/** Where the admin CLI finds a running on-disk stack: `${DATA_DIR}/local.json`. */
export function localStateFile(dataDir: string): string {
  return resolve(dataDir, 'local.json');
}

function printEmail(m: OutboxMessage): string {
  const rule = '-'.repeat(72);
  return `\n${rule}\nEmail #${m.id} (${m.kind}) to ${m.to}\nSubject: ${m.subject}\n\n${m.text}\n${rule}\n`;
}

/** The answer while a restarted DynamoDB Local is being set up again (in memory: tables and seed). */
function storeRecovering(): Response {
  const err = new ApiError(
    'store_unavailable',
    'The local DynamoDB was restarted and is being set up again, so the request was not run; you were not billed. Try again.',
  );
  return Response.json(err.toEnvelope(), {
    status: err.status,
    headers: { 'retry-after': '1', 'x-should-retry': 'true' },
  });
}

/**
 * Starts the whole platform on this machine: DynamoDB Local (unless an endpoint is configured),
 * the model runtime process (unless a SageMaker endpoint is configured), tables and seed data,
 * and the API on one Node server. `GET /health` answers 200 once all of it answers. DynamoDB Local
 * and the runtime are supervised: either is restarted if it dies, and `/health` turns green again
 * by itself.
 */
export async function startLocalStack(
  config: Config,
  log: Logger,
  opts: LocalStackOptions = {},
): Promise<LocalStack> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  };
  try {
    // What a restarted DynamoDB Local needs before it serves again: set once the stores exist.
    let setUpStore: (() => Promise<void>) | undefined;
    let dynamo: SupervisedDynamo | undefined;
    if (!config.DYNAMODB_ENDPOINT) {
      dynamo = await superviseDynamo(
        {
          dataDir: config.TOLLGATE_IN_MEMORY ? null : config.DATA_DIR,
          afterRestart: () => setUpStore?.() ?? Promise.resolve(),
        },
        log,
      );
      started.push(dynamo);
    }
    let runtime: SupervisedRuntime | undefined;
    if (!config.SAGEMAKER_ENDPOINT) {
      runtime = await superviseRuntime({ env: { TOLLGATE_STAGE: config.STAGE } }, log);
      started.push(runtime);
    }
    let s3: LocalS3 | undefined;
    if (!config.S3_ENDPOINT) {
      // Batch files: on disk beside DynamoDB's data, or in a temporary folder when in memory.
      s3 = await startLocalS3({ dir: config.TOLLGATE_IN_MEMORY ? null : resolve(config.DATA_DIR, 's3') });
      started.push(s3);
    }
    const wired: Config = {
      ...config,
      DYNAMODB_ENDPOINT: config.DYNAMODB_ENDPOINT ?? dynamo?.endpoint,
      SAGEMAKER_ENDPOINT: config.SAGEMAKER_ENDPOINT ?? runtime?.url,
      S3_ENDPOINT: config.S3_ENDPOINT ?? s3?.endpoint,
    };
    await ensureBucket(wired.S3_ENDPOINT!, wired.BATCH_BUCKET, wired.AWS_REGION);
    const stores = createStores(wired);
    const names = tableNames(wired.STAGE);
    /**
     * Tables, the seed catalog and plans, the demo tenant and the configured operator, each made
     * only if absent: at start, and again after DynamoDB Local was restarted (in memory it comes
     * back empty; `restore` makes the demo again with the key printed at start).
     */
    const setUp = async (restore?: DemoSeed) => {
      await ensureTables(stores.dynamo.client, wired.STAGE);
      await seedCatalogIfAbsent(stores, wired.STAGE);
      const seeded = await seedDemoTenant(stores, names.main, restore);
      let op: LocalStack['operator'] = null;
      if (wired.OPERATOR_EMAIL && wired.OPERATOR_PASSWORD) {
        const made = await createOperator(
          { operators: stores.operators, audit: stores.audit, now: () => new Date() },
          {
            email: wired.OPERATOR_EMAIL,
            password: wired.OPERATOR_PASSWORD,
            actor: { kind: 'system', id: 'config' },
          },
        );
        if (made.status === 'invalid') throw new Error(`OPERATOR_EMAIL/OPERATOR_PASSWORD: ${made.message}`);
        op = { email: wired.OPERATOR_EMAIL.toLowerCase(), created: made.status === 'created' };
      } else {
        const [first] = await stores.operators.emails(1);
        if (first) op = { email: first, created: false };
      }
      return { seeded, op };
    };
    const { seeded: demo, op: operator } = await setUp();
    setUpStore = async () => {
      await setUp(demo);
    };

    // The server listens before the API is wired, so that a PUBLIC_URL left to its default
    // follows the port the server got (PORT=0 picks one): the links in emails must reach it.
    // A request in between waits for the API (a matter of milliseconds).
    let serve: Parameters<typeof listen>[0] | undefined;
    let wiredUp: () => void = () => {};
    const ready = new Promise<void>((res) => {
      wiredUp = res;
    });
    const { server: httpServer, port } = await listen(
      async (req, env) => {
        if (!serve) await ready;
        // The node bindings go along: the API reads the client's address from them.
        return serve!(req, env);
      },
      { port: wired.PORT, hostname: wired.HOST, timeouts: serverTimeouts(wired) },
    );
    let closing: Promise<void> | undefined;
    const closeServer = () => {
      closing ??= new Promise<void>((res) => {
        httpServer.close(() => res());
        (httpServer as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      return closing;
    };
    started.push({ stop: closeServer });
    const url = `http://${wired.HOST}:${port}`;
    if (config.PUBLIC_URL === defaultPublicUrl(config.PORT)) wired.PUBLIC_URL = defaultPublicUrl(port);

    const print = opts.print ?? ((text: string) => process.stdout.write(text));
    const outbox = new OutboxEmailSender({ onSend: (m) => print(printEmail(m)) });
    const keyDir = config.TOLLGATE_IN_MEMORY ? null : wired.DATA_DIR;
    const signingKeys = wired.JWT_PRIVATE_JWKS ? undefined : (await localSigningKeys(keyDir)).keys;
    const deps = createApiDeps(wired, log, {
      stores,
      email: outbox,
      signingKeys,
      // The socket's address, or the one CLIENT_IP_HEADER names when a trusted proxy is in front.
      clientIp: (c) => localClientAddress(getConnInfo(c).remote.address, (n) => c.req.header(n), wired),
    });
    // The catalog says which versions the runtime can serve, and plain `chat` goes to the best one.
    const syncModels = () =>
      syncModelAvailability({
        runtimeUrl: wired.SAGEMAKER_ENDPOINT!,
        catalog: stores.catalog,
        audit: stores.audit,
        onChange: () => deps.resolver.invalidate(),
      });
    if (runtime)
      await syncModels().catch((err: unknown) => log.warn({ err }, 'model availability sync failed'));
    let stopping = false;
    started.push({
      stop: async () => {
        stopping = true;
      },
    });
    const modelFetch =
      runtime && opts.fetchModels
        ? fetchDefaultChatModel({
            endpoint: wired.HF_ENDPOINT,
            runtimeUrl: wired.SAGEMAKER_ENDPOINT!,
            print: opts.print ?? ((text: string) => process.stdout.write(text)),
            log,
            sync: syncModels,
            stopped: () => stopping,
          })
        : null;
    const chatServes = (await stores.catalog.load()).models.get('chat')?.model.defaultVersion;
    // On a clean stop, quota leases give back what they hold (a crash leaves it to the sweeper).
    started.push({ stop: () => deps.admission.close() });
    // Model-version health counts: written every HEALTH_FLUSH_MS, and what is left on a clean stop.
    deps.modelHealth.start();
    started.push({ stop: () => deps.modelHealth.close() });
    // The request log's refusal counts: the same, on the same interval.
    deps.refusals.start();
    started.push({ stop: () => deps.refusals.close() });
    // Reservations of requests that never settled are released within this period after expiry.
    const sweeper = setInterval(() => {
      sweepReservations(stores.quotas, new Date(), stores.usage, {
        notices: deps.creditNotices,
        tenants: stores.tenants,
      })
        .then(({ released }) => released && log.warn({ released }, 'released expired quota reservations'))
        .catch((err: unknown) => log.error({ err }, 'reservation sweep failed'));
    }, wired.RESERVATION_SWEEP_MS);
    sweeper.unref();
    started.push({ stop: async () => clearInterval(sweeper) });
    // Batch work: what the worker function does in AWS for the SQS queue and its schedule.
    if (opts.batchWorker !== false && wired.BATCH_WORKER && deps.batch.queue instanceof DynamoWorkQueue) {
      const poller = pollBatchQueue(createBatchWorker({ data: deps, batch: deps.batch }), deps.batch.queue, {
        pollMs: wired.BATCH_POLL_MS,
        sweepMs: wired.BATCH_POLL_MS * 10,
        log,
      });
      started.push(poller);
    }
    // The usage aggregates, from the usage table's stream: what the Lambda consumer does in AWS.
    const usagePoller = new StreamPoller(stores.dynamo.client, names.usage, stores.usageConsumer, {
      idleMs: wired.USAGE_POLL_MS,
      onError: (err) => log.warn({ err }, 'usage stream poll failed; retrying'),
    });
    if (wired.USAGE_CONSUMER) {
      usagePoller.start();
      started.push({ stop: () => usagePoller.stop() });
    }
    // Closed usage windows to Stripe; in ledger-only mode there is nothing to send, so no timer.
    let syncing: Promise<BillingSyncResult> | undefined;
    const runBillingSync = (now = new Date()) => {
      // Each run ends within one timer period, as in AWS within one invocation: the walk resumes next time.
      syncing ??= billingSync(deps.billing, now, { deadlineMs: Date.now() + wired.BILLING_SYNC_MS }).finally(
        () => {
          syncing = undefined;
        },
      );
      return syncing;
    };
    if (deps.billing.gateway.mode === 'stripe') {
      const billingTimer = setInterval(() => {
        runBillingSync()
          .then((r) => r.events && log.info({ events: r.events, windows: r.windows }, 'usage sent to Stripe'))
          .catch((err: unknown) => log.error({ err }, 'billing sync failed'));
      }, wired.BILLING_SYNC_MS);
      billingTimer.unref();
      started.push({ stop: async () => clearInterval(billingTimer) });
    }
    const server = new Hono();
    // Local only: the emails the platform would have sent. Never part of createApiApp.
    server.get('/_local/outbox', (c) =>
      c.json({ object: 'list', data: outbox.list(c.req.query('to')?.trim().toLowerCase()) }),
    );
    server.get('/health', async (c) => {
      const [db, models] = await Promise.all([
        // A restarted DynamoDB Local is not ok until its tables and seed are back.
        dynamo && dynamo.state() !== 'up'
          ? dynamo.state()
          : stores.dynamo.client
              .send(new DescribeTableCommand({ TableName: names.main }))
              .then(() => 'ok' as const)
              .catch(() => 'down' as const),
        fetch(new URL('/ping', wired.SAGEMAKER_ENDPOINT), { signal: AbortSignal.timeout(2_000) })
          .then(async (r) => {
            if (r.ok) return 'ok' as const;
            // The runtime listens before its vision models finish loading, and says so.
            const body = (await r.json().catch(() => ({}))) as { status?: string };
            return body.status === 'loading' ? ('loading' as const) : ('down' as const);
          })
          .catch(() => 'down' as const),
      ]);
      const ok = db === 'ok' && models === 'ok';
      return c.json({ status: ok ? 'ok' : 'degraded', components: { dynamodb: db, models } }, ok ? 200 : 503);
    });
    // The console (web/dist) at `/`, on the API's origin so its session cookies and the
    // same-origin check work as they do behind CloudFront.
    server.use('*', serveConsole(opts.consoleDir, { hsts: wantsHsts(wired.PUBLIC_URL) }));
    // Everything else is the API's, answered by its own fetch (its errors, its JSON 404) as the
    // Lambda entry runs it: `route()` would wrap each of its handlers in a fresh error-handling
    // composition on every request (a tenth of the allocations of a served request).
    const api = createApiApp(deps);
    // While a restarted in-memory DynamoDB Local starts and is set up again, it would answer as if
    // tables, tenants and keys did not exist (500s, 401s): the API is not asked until it is whole
    // again. (On disk its data survived; and while it is down, the API's own 503 answers, as it
    // would against DynamoDB.)
    const emptyAfterRestart = () => dynamo?.dataPath === null && dynamo.state() === 'recovering';
    server.all('*', (c) => (emptyAfterRestart() ? storeRecovering() : api.fetch(c.req.raw, c.env)));
    serve = server.fetch;
    wiredUp();
    // On stop, the server stops taking requests first (before admission and health close).
    started.push({ stop: closeServer });
    started.push({
      async stop() {
        stores.dynamo.client.destroy();
      },
    });
    if (dynamo?.dataPath) {
      // So `npm run admin` finds this stack's DynamoDB without being told.
      const stateFile = localStateFile(wired.DATA_DIR);
      writeFileSync(
        stateFile,
        `${JSON.stringify({ url, dynamoEndpoint: wired.DYNAMODB_ENDPOINT, runtimeUrl: wired.SAGEMAKER_ENDPOINT, s3Endpoint: wired.S3_ENDPOINT, stage: wired.STAGE, pid: process.pid }, null, 2)}\n`,
      );
      started.push({ stop: async () => rmSync(stateFile, { force: true }) });
    }
    return {
      url,
      port,
      dynamoEndpoint: wired.DYNAMODB_ENDPOINT!,
      runtimeUrl: wired.SAGEMAKER_ENDPOINT!,
      runtime: runtime ? { pid: runtime.pid, restarts: runtime.restarts } : null,
      dynamo: dynamo ? { pid: dynamo.pid, restarts: dynamo.restarts, state: dynamo.state } : null,
      dataPath: dynamo?.dataPath ?? null,
      s3Endpoint: s3?.endpoint ?? null,
      demo,
      config: wired,
      outbox,
      operator,
      billing: deps.billing.gateway.mode,
      models: { chat: chatServes ? `chat@${chatServes}` : 'none', fetch: modelFetch },
      runBillingSync,
      drainUsage: () => usagePoller.drain(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
