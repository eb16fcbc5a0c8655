import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/**
 * Per-stage settings for the CDK app. Everything that differs between dev and prod lives here, so
 * the stacks themselves carry no `if (prod)` beyond reading these fields.
 */
export const stages = ['dev', 'prod'] as const;
export type Stage = (typeof stages)[number];

export interface StageConfig {
  stage: Stage;
  /**
   * Pin a stage to one AWS account: a deploy with credentials for any other account then fails
   * instead of creating a second copy. Unset means "whatever account the CLI resolves".
   */
  account?: string;
  /** Region used when neither `-c region=` nor CDK_DEFAULT_REGION says otherwise. */
  region: string;
  /** Keep tables and logs when the stack is deleted, and refuse table deletion (prod data). */
  retainData: boolean;
  logRetentionDays: RetentionDays;
  /** Default-stage throttling of the HTTP API: a backstop under the per-tenant quotas. */
  apiThrottle: { rateLimit: number; burstLimit: number };
  /** API Lambda sizing. */
  apiFunction: { memoryMb: number; timeoutSeconds: number };
  /** Lambda concurrency: what each API function reserves out of the account's regional limit. */
  concurrency: ConcurrencyConfig;
  /**
   * Budget for one model call. Must stay below the function timeout (and API Gateway's 30 s
   * integration cap), so a slow endpoint ends as our own 504 with its reservation released rather
   * than a killed invocation.
   */
  modelTimeoutMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** SageMaker hosting of the catalog's models (the Models stack). */
  models: ModelsConfig;
  /** Dashboard and alarms (the Observability stack). */
  observability: ObservabilityConfig;
  /**
   * Where the console is served (links in emails, the cookie-write origin check): the Console
   * stack's origin. Defaults to `https://<console.domain.names[0]>` with a custom domain; without
   * one, set it (`-c publicUrl=`) to the `ConsoleUrl` the first deploy prints.
   */
  publicUrl?: string;
  /** The Console stack (CloudFront in front of the console files and the API). */
  console?: ConsoleConfig;
  /**
   * A WAF web ACL on the CloudFront distribution (infra/edge-firewall.ts). CLOUDFRONT-scoped ACLs
   * live in us-east-1: in the Console stack when it is there, else in `Tollgate-<Stage>-Waf`.
   */
  waf?: WafConfig;
  /** Account emails through SES: the sender, and the verified SES identity (domain or address) it belongs to. */
  email?: { from: string; sesIdentity: string };
  /** The billing job (in the Jobs stack). Stripe's keys live in the Stripe secret. */
  billing: BillingConfig;
}

/** The API functions, by id (infra/stacks/api-stack.ts `apiFunctions`). */
export type ApiFunctionName = 'data' | 'stream' | 'console' | 'billing' | 'docs' | 'batch';

export interface ConcurrencyConfig {
  /**
   * The account's Lambda concurrency limit in the stage's region (Service Quotas, "Concurrent
   * executions", L-B99A9384; 1000 by default, less in some new accounts): what the reservations are
   * checked against at synth.
   */
  accountLimit: number;
  /**
   * Reserved concurrency of each API function: its ceiling (a flood of one plane cannot take the
   * others' capacity, nor the account's) and its guarantee. What is left unreserved runs the jobs
   * (sweeper, billing sync, usage consumer) and must stay at least `minUnreserved`.
   */
  api: Record<ApiFunctionName, number>;
  /**
   * Reserved concurrency of the batch worker (Jobs stack): how many batch chunks run at once in the
   * whole stage. Each chunk runs `batchWorkerLanes` lines at once (infra/stacks/jobs-stack.ts), so
   * batch work has at most (this - 1) x lanes model calls in flight. This bound is what keeps batch
   * from taking online capacity: the worker can never hold more than this many of the account's
   * concurrent executions (the API planes keep their reservations) nor more than those calls on the
   * model endpoints, however long the queue. The queue's event source takes at
   * most one less (its `maxConcurrency`), leaving one for the once-a-minute batch sweep, so the
   * queue's deliveries are not throttled (a throttled delivery counts toward the dead-letter
   * queue's receive limit). At least 3: SQS event sources take a `maxConcurrency` of 2 or more.
   */
  batchWorker: number;
  /**
   * Lambda refuses a reservation that leaves under 100 unreserved; the jobs need their share on
   * top (one sweeper, one consumer per usage stream shard; the billing sync reserves its own one).
   */
  minUnreserved: number;
}

export interface WafConfig {
  /**
   * Requests one client IP may make in any 5 minutes before the web ACL blocks it (WAF's
   * rate-based rule, counted at the edge across every path): a backstop under the API's own
   * per-tenant and per-key limits, against floods that never authenticate.
   */
  rateLimitPerIpPer5Minutes: number;
}

export interface ConsoleConfig {
  /**
   * A custom domain: its names (the first is the console's public URL) and an ACM certificate
   * covering them, which CloudFront requires in us-east-1. DNS (an alias or CNAME to the
   * distribution) is the deployer's.
   */
  domain?: { names: string[]; certificateArn: string };
}

export interface BillingConfig {
  /** How often the meter sync (and the grace clock) runs. */
  syncEveryMinutes: number;
  /** Days a past-due tenant keeps calling before it is suspended. */
  pastDueGraceDays: number;
}

export interface ModelsConfig {
  /**
   * Create the model endpoints at all. They bill per instance-hour from the moment they exist,
   * whether or not anything calls them, so a stage opts in; `-c models=true|false` overrides.
   */
  deploy: boolean;
  /**
   * Caps every endpoint's instances (and every version's copies) below what
   * shared/catalog/deployment.ts asks for: a dev stage proves the wiring on a couple of instances
   * per endpoint instead of paying for prod's headroom.
   */
  maxInstancesPerEndpoint?: number;
  /**
   * A release of a version (new image, environment or resources) replaces its copies one at a
   * time and waits this long after each, watching the version's latency and 5xx alarms; either
   * alarm rolls the whole release back (SageMaker's rolling update with automatic rollback).
   */
  releaseBakeSeconds: number;
  /**
   * The project's own model server image (the local runtime's handlers behind the SageMaker
   * container contract), an ECR repository in the deploy account. Built and pushed outside synth;
   * pin an immutable tag per release (`-c modelServerTag=`): SageMaker resolves the tag once, when
   * the model is created, so pushing over a tag changes nothing that is running.
   */
  modelServerImage: { repositoryName: string; tag: string };
  /**
   * Refuse to synthesize endpoints on the model server's `latest` tag: it names whatever was pushed
   * last, so a deploy would not say which server it runs, and a redeploy could change it unseen.
   * Checked once the `-c modelServerTag=` override is applied (assertPinnedModelImage).
   */
  requirePinnedImage: boolean;
  /**
   * Account serving AWS Deep Learning Containers (the Hugging Face TGI and inference images) in
   * the stage's region. 763104351884 serves most commercial regions; a few opt-in regions use
   * their own account (see the DLC list of available images).
   */
  dlcAccount: string;
}

export interface ObservabilityConfig {
  /** Subscribed to the alarm topic when set (the address confirms by mail once). */
  alarmEmail?: string;
  /** API 5xx answers over all answers, in percent, over `periodMinutes`. */
  apiErrorRatePercent: number;
  /** Same, per endpoint variant, from SageMaker's own invocation metrics. */
  endpointErrorRatePercent: number;
  /** Below this many requests in a period the rates are not judged: 1 error in 3 is noise. */
  minRequestsForRate: number;
  /** An endpoint variant's p90 model latency alarms above this share of the version's timeout. */
  latencyShareOfTimeout: number;
  /**
   * Transactions a table cancels for conflicts per period before it alarms (2 of 3 periods). A few
   * are expected (quota leases and settles of one tenant meet on its counters, and are retried);
   * a steady stream means a hot tenant is near its ceiling and requests end as 503 store_unavailable.
   */
  transactionConflictsPerPeriod: number;
  /** An endpoint variant's average CPU or memory use, in percent of its instance, that alarms (3 periods in a row). */
  endpointUtilizationPercent: number;
  /** Minutes a closed usage window may wait for the billing sync before `BillingSyncLagMinutes` alarms. */
  billingSyncLagMinutes: number;
  periodMinutes: number;
}

export const stageConfigs: Record<Stage, StageConfig> = {
  dev: {
    stage: 'dev',
    region: 'us-east-1',
    retainData: false,
    logRetentionDays: RetentionDays.ONE_WEEK,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
    apiFunction: { memoryMb: 1024, timeoutSeconds: 30 },
    // 55 reserved of 1000 (the API functions and the batch worker), 945 unreserved: a dev stage
    // cannot starve another stage in its account.
    concurrency: {
      accountLimit: 1000,
      api: { data: 20, stream: 10, console: 10, billing: 5, docs: 2, batch: 5 },
      batchWorker: 3,
      minUnreserved: 200,
    },
    modelTimeoutMs: 25_000,
    logLevel: 'debug',
    models: {
      // Dev costs nothing per hour unless asked: `-c models=true` deploys the endpoints, capped
      // at two instances per endpoint (room for a preview version to wake beside the active one).
      deploy: false,
      maxInstancesPerEndpoint: 2,
      releaseBakeSeconds: 120,
      modelServerImage: { repositoryName: 'tollgate-model-server', tag: 'latest' },
      requirePinnedImage: false,
      dlcAccount: '763104351884',
    },
    observability: {
      apiErrorRatePercent: 5,
      endpointErrorRatePercent: 5,
      minRequestsForRate: 20,
      latencyShareOfTimeout: 0.8,
      periodMinutes: 5,
      transactionConflictsPerPeriod: 50,
      endpointUtilizationPercent: 90,
      // Runs every 5 minutes in dev, every minute in prod: a few missed runs, not one.
      billingSyncLagMinutes: 30,
    },
    billing: { syncEveryMinutes: 5, pastDueGraceDays: 7 },
  },
  prod: {
    stage: 'prod',
    region: 'us-east-1',
    retainData: true,
    logRetentionDays: RetentionDays.THREE_MONTHS,
    apiThrottle: { rateLimit: 1000, burstLimit: 2000 },
    apiFunction: { memoryMb: 1024, timeoutSeconds: 30 },
    // 610 reserved of 1000 (the API functions and the batch worker), 390 unreserved for the jobs
    // (docs/deploy.md has the arithmetic). data: the HTTP API's 1000 requests/s at about 0.3 s
    // each; stream: 200 chats streaming at once; batchWorker: 9 chunks and the sweep, so at most
    // 18 model calls of batch work at once in the stage (2 lanes a chunk).
    concurrency: {
      accountLimit: 1000,
      api: { data: 300, stream: 200, console: 50, billing: 20, docs: 10, batch: 20 },
      batchWorker: 10,
      minUnreserved: 200,
    },
    modelTimeoutMs: 25_000,
    logLevel: 'info',
    models: {
      deploy: true,
      // Two alarm periods of five minutes: the version's alarms see the new copy's traffic.
      releaseBakeSeconds: 600,
      // A placeholder that synth refuses: every prod deploy names its image, -c modelServerTag=<sha>.
      modelServerImage: { repositoryName: 'tollgate-model-server', tag: 'latest' },
      requirePinnedImage: true,
      dlcAccount: '763104351884',
    },
    observability: {
      apiErrorRatePercent: 1,
      endpointErrorRatePercent: 1,
      minRequestsForRate: 50,
      latencyShareOfTimeout: 0.8,
      periodMinutes: 5,
      transactionConflictsPerPeriod: 100,
      endpointUtilizationPercent: 90,
      // Runs every 5 minutes in dev, every minute in prod: a few missed runs, not one.
      billingSyncLagMinutes: 15,
    },
    billing: { syncEveryMinutes: 1, pastDueGraceDays: 7 },
    // 20 requests/s per address, sustained over 5 minutes: far above one person at the console,
    // and above most single-server API clients; the per-tenant limits apply below it.
    waf: { rateLimitPerIpPer5Minutes: 6000 },
  },
};

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (stages as readonly string[]).includes(value);
}

/** Validates a `-c stage=` value; a typo must stop the synth, not deploy a half-named stage. */
export function parseStage(value: unknown): Stage {
  if (!isStage(value)) {
    throw new Error(`Unknown stage ${JSON.stringify(value)}: expected one of ${stages.join(', ')}`);
  }
  return value;
}

/** Cross-field checks the type system cannot express; run on every synth. */
export function validateStageConfig(input: StageConfig): StageConfig {
  const config = withDerivedPublicUrl(input);
  // Leave headroom for settling usage and writing the error after the model call gives up.
  const budgetMs = config.apiFunction.timeoutSeconds * 1000 - 2_000;
  if (config.modelTimeoutMs > budgetMs) {
    throw new Error(
      `Stage ${config.stage}: modelTimeoutMs ${config.modelTimeoutMs} must be <= ${budgetMs} (function timeout - 2 s)`,
    );
  }
  // API Gateway HTTP APIs cut integrations at 30 s; a longer function would run on unobserved.
  if (config.apiFunction.timeoutSeconds > 30) {
    throw new Error(
      `Stage ${config.stage}: API function timeout must be <= 30 s (HTTP API integration limit)`,
    );
  }
  const concurrency = config.concurrency;
  for (const [fn, n] of Object.entries(concurrency.api)) {
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`Stage ${config.stage}: concurrency.api.${fn} must be an integer >= 1`);
    }
  }
  if (!Number.isInteger(concurrency.batchWorker) || concurrency.batchWorker < 3) {
    throw new Error(
      `Stage ${config.stage}: concurrency.batchWorker must be an integer >= 3 (the queue's event source takes 2 or more, the sweep 1)`,
    );
  }
  const reserved = Object.values(concurrency.api).reduce((a, b) => a + b, 0) + concurrency.batchWorker;
  if (concurrency.accountLimit - reserved < concurrency.minUnreserved) {
    throw new Error(
      `Stage ${config.stage}: the API functions and the batch worker reserve ${reserved} of the account's ${concurrency.accountLimit} concurrent executions, leaving ${concurrency.accountLimit - reserved}; at least ${concurrency.minUnreserved} must stay unreserved (Lambda's floor of 100, and the jobs). Lower concurrency.api or concurrency.batchWorker, or raise the account's limit (and concurrency.accountLimit).`,
    );
  }
  if (concurrency.minUnreserved < 100) {
    throw new Error(`Stage ${config.stage}: concurrency.minUnreserved must be >= 100 (Lambda's own floor)`);
  }
  const cap = config.models.maxInstancesPerEndpoint;
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) {
    throw new Error(`Stage ${config.stage}: models.maxInstancesPerEndpoint must be an integer >= 1`);
  }
  const bake = config.models.releaseBakeSeconds;
  if (!Number.isInteger(bake) || bake < 0 || bake > 3_600) {
    throw new Error(`Stage ${config.stage}: models.releaseBakeSeconds must be a whole number from 0 to 3600`);
  }
  if (!/^[a-z0-9][a-z0-9._/-]*$/.test(config.models.modelServerImage.repositoryName)) {
    throw new Error(`Stage ${config.stage}: models.modelServerImage.repositoryName is not an ECR name`);
  }
  if (!/^[\w][\w.-]{0,127}$/.test(config.models.modelServerImage.tag)) {
    throw new Error(`Stage ${config.stage}: models.modelServerImage.tag is not a Docker tag`);
  }
  const obs = config.observability;
  if (obs.latencyShareOfTimeout <= 0 || obs.latencyShareOfTimeout > 1) {
    throw new Error(`Stage ${config.stage}: observability.latencyShareOfTimeout must be in (0, 1]`);
  }
  if (obs.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(obs.alarmEmail)) {
    throw new Error(`Stage ${config.stage}: observability.alarmEmail is not an email address`);
  }
  const domain = config.console?.domain;
  if (domain) {
    if (domain.names.length === 0) throw new Error(`Stage ${config.stage}: console.domain.names is empty`);
    if (!/^arn:aws[\w-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(domain.certificateArn)) {
      throw new Error(
        `Stage ${config.stage}: console.domain.certificateArn must be an ACM certificate in us-east-1 (CloudFront's region)`,
      );
    }
  }
  if (config.publicUrl !== undefined) {
    const url = URL.canParse(config.publicUrl) ? new URL(config.publicUrl) : null;
    if (url === null || url.protocol !== 'https:' || url.pathname !== '/' || url.search !== '') {
      throw new Error(
        `Stage ${config.stage}: publicUrl must be an https origin like https://console.example.com`,
      );
    }
    if (domain && url.host !== domain.names[0]) {
      throw new Error(
        `Stage ${config.stage}: publicUrl must be https://${domain.names[0]} (console.domain.names[0])`,
      );
    }
  }
  const billing = config.billing;
  if (!Number.isInteger(billing.syncEveryMinutes) || billing.syncEveryMinutes < 1) {
    throw new Error(`Stage ${config.stage}: billing.syncEveryMinutes must be an integer >= 1`);
  }
  return config;
}

export function stageConfig(stage: Stage): StageConfig {
  return validateStageConfig(stageConfigs[stage]);
}

/** A custom console domain is the public URL unless one is given. */
function withDerivedPublicUrl(config: StageConfig): StageConfig {
  const name = config.console?.domain?.names[0];
  return config.publicUrl === undefined && name ? { ...config, publicUrl: `https://${name}` } : config;
}

/**
 * Stops the synth of a stage that requires a pinned model server image (prod) and would deploy its
 * endpoints on the `latest` tag. Runs on the final config (after `-c modelServerTag=`), so it is
 * not part of validateStageConfig, which also checks the stage defaults.
 */
export function assertPinnedModelImage(config: StageConfig): void {
  const { deploy, modelServerImage, requirePinnedImage } = config.models;
  if (deploy && requirePinnedImage && modelServerImage.tag === 'latest') {
    throw new Error(
      `Stage ${config.stage} refuses the model server image tag "latest" (models.modelServerImage.tag in infra/config.ts): pin the image you pushed with -c modelServerTag=<tag> (a git sha), or deploy without endpoints with -c models=false.`,
    );
  }
}

/** What `-c key=value` may change per deploy without editing the stage config. */
export interface ContextOverrides {
  /** `-c models=true|false`: deploy the SageMaker endpoints or not. */
  models?: unknown;
  /** `-c modelServerTag=<tag>`: the model server image to run (a release tag or git sha). */
  modelServerTag?: unknown;
  /** `-c alarmEmail=<address>`: where alarms are mailed. */
  alarmEmail?: unknown;
  /** `-c publicUrl=https://...`: the console's origin (the first deploy's `ConsoleUrl`). */
  publicUrl?: unknown;
}

/**
 * Applies CLI context to a stage config and validates the result. CLI context values arrive as
 * strings (`-c models=true`), the tests pass booleans: both are accepted, anything else stops
 * the synth rather than silently meaning "false".
 */
export function withOverrides(config: StageConfig, overrides: ContextOverrides): StageConfig {
  const next: StageConfig = {
    ...config,
    models: { ...config.models, modelServerImage: { ...config.models.modelServerImage } },
    observability: { ...config.observability },
    billing: { ...config.billing },
  };
  if (overrides.models !== undefined) next.models.deploy = parseBoolean('models', overrides.models);
  if (overrides.modelServerTag !== undefined) {
    next.models.modelServerImage.tag = String(overrides.modelServerTag);
  }
  if (overrides.alarmEmail !== undefined) next.observability.alarmEmail = String(overrides.alarmEmail);
  if (overrides.publicUrl !== undefined) next.publicUrl = String(overrides.publicUrl).replace(/\/+$/, '/');
  return validateStageConfig(next);
}

function parseBoolean(name: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`-c ${name}= must be true or false, got ${JSON.stringify(value)}`);
}

/** `dev` -> `Dev`, for stack names like `Tollgate-Dev-Api`. */
export function stageTitle(stage: Stage): string {
  return stage.charAt(0).toUpperCase() + stage.slice(1);
}

export interface ResolvedEnv {
  account: string | undefined;
  region: string;
}

/**
 * Explicit env, resolved without any AWS call so synth works offline.
 * Account: `-c account=`, then the stage's pinned account, then CDK_DEFAULT_ACCOUNT (the CLI's
 * credentials; unset offline). Region: `-c region=`, then CDK_DEFAULT_REGION (the CLI profile),
 * then the stage's default region.
 * An unknown account leaves the stacks account-agnostic (`${AWS::AccountId}` in ARNs), which is
 * fine because nothing here does context lookups.
 */
export function resolveEnv(
  config: StageConfig,
  context: { account?: unknown; region?: unknown },
  processEnv: NodeJS.ProcessEnv = process.env,
): ResolvedEnv {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const contextRegion = str(context.region);
  return {
    account: str(context.account) ?? config.account ?? str(processEnv.CDK_DEFAULT_ACCOUNT),
    region: contextRegion ?? str(processEnv.CDK_DEFAULT_REGION) ?? config.region,
  };
}
