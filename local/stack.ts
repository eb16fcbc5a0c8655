import type { AddressInfo } from 'node:net';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApiApp } from '../functions/api/app';
import { createApiDeps, createStores } from '../functions/api/deps';
import { sweepReservations } from '../functions/jobs/sweep-reservations';
import type { Config } from '../shared/config';
import { ensureTables } from '../shared/db/create-tables';
import { tableNames } from '../shared/db/tables';
import type { Logger } from '../shared/logger';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './dynamodb';
import { type RuntimeProcess, startRuntimeProcess } from './runtime/launcher';
import { type DemoSeed, seedCatalogIfAbsent, seedDemoTenant } from './seed';

const SWEEP_EVERY_MS = 15_000;

export interface LocalStack {
  url: string;
  port: number;
  dynamoEndpoint: string;
  /** The local model runtime's SageMaker-compatible URL. */
  runtimeUrl: string;
  /** Where DynamoDB Local keeps its files; null when in memory or external. */
  dataPath: string | null;
  demo: DemoSeed;
  config: Config;
  stop(): Promise<void>;
}

/**
 * Starts the whole platform on this machine: DynamoDB Local (unless an endpoint is configured),
 * the model runtime process (unless a SageMaker endpoint is configured), tables and seed data,
 * and the API on one Node server. `GET /health` answers 200 once all of it answers.
 */
export async function startLocalStack(config: Config, log: Logger): Promise<LocalStack> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  };
  try {
    let dynamo: EmbeddedDynamo | undefined;
    if (!config.DYNAMODB_ENDPOINT) {
      dynamo = await startEmbeddedDynamo({ dataDir: config.TOLLGATE_IN_MEMORY ? null : config.DATA_DIR });
      started.push(dynamo);
    }
    let runtime: RuntimeProcess | undefined;
    if (!config.SAGEMAKER_ENDPOINT) {
      runtime = await startRuntimeProcess({ env: { TOLLGATE_STAGE: config.STAGE } });
      started.push(runtime);
    }
    const wired: Config = {
      ...config,
      DYNAMODB_ENDPOINT: config.DYNAMODB_ENDPOINT ?? dynamo?.endpoint,
      SAGEMAKER_ENDPOINT: config.SAGEMAKER_ENDPOINT ?? runtime?.url,
    };
    const stores = createStores(wired);
    await ensureTables(stores.dynamo.client, wired.STAGE);
    const names = tableNames(wired.STAGE);
    await seedCatalogIfAbsent(stores, wired.STAGE);
    const demo = await seedDemoTenant(stores, names.main);

    const deps = createApiDeps(wired, log, { stores });
    // Reservations of requests that never settled are released within this period after expiry.
    const sweeper = setInterval(() => {
      sweepReservations(stores.quotas, new Date())
        .then(({ released }) => released && log.warn({ released }, 'released expired quota reservations'))
        .catch((err: unknown) => log.error({ err }, 'reservation sweep failed'));
    }, SWEEP_EVERY_MS);
    sweeper.unref();
    started.push({ stop: async () => clearInterval(sweeper) });
    const server = new Hono();
    server.get('/health', async (c) => {
      const [db, models] = await Promise.all([
        stores.dynamo.client
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
    server.route('/', createApiApp(deps));

    const httpServer = await new Promise<ReturnType<typeof serve>>((res, rej) => {
      const s = serve({ fetch: server.fetch, port: wired.PORT, hostname: wired.HOST }, () => res(s));
      s.once('error', rej);
    });
    // Slow or idle clients must not hold sockets for ever.
    httpServer.setTimeout?.(120_000);
    started.push({
      stop: () =>
        new Promise<void>((res) => {
          httpServer.close(() => res());
          (httpServer as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    });
    started.push({
      async stop() {
        stores.dynamo.client.destroy();
      },
    });
    const port = (httpServer.address() as AddressInfo).port;
    return {
      url: `http://${wired.HOST}:${port}`,
      port,
      dynamoEndpoint: wired.DYNAMODB_ENDPOINT!,
      runtimeUrl: wired.SAGEMAKER_ENDPOINT!,
      dataPath: dynamo?.dataPath ?? null,
      demo,
      config: wired,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
