import { readFileSync } from 'node:fs';
import { App, type Environment, Tags } from 'aws-cdk-lib';
import { type ModelDeployment, modelDeployments } from '../shared/catalog/deployment';
import { seedCatalog } from '../shared/catalog/seed';
import {
  assertPinnedModelImage,
  type ContextOverrides,
  resolveEnv,
  type Stage,
  type StageConfig,
  stageConfig,
  stageTitle,
  validateStageConfig,
  withOverrides,
} from './config';
import { type EndpointPlan, planEndpoints, type SeedCatalog } from './model-endpoints';
import { fromRoot } from './paths';
import { ApiStack } from './stacks/api-stack';
import { ConsoleStack } from './stacks/console-stack';
import { batchMaxReceiveCount, DataStack } from './stacks/data-stack';
import { JobsStack } from './stacks/jobs-stack';
import { ModelsStack } from './stacks/models-stack';
import { ObservabilityStack } from './stacks/observability-stack';
import { cloudFrontWafRegion, WafStack } from './stacks/waf-stack';

/**
 * Context defaults for every app (cdk.json and `-c` still win). Strong cross-stack references:
 * the data stack cannot be deleted while the API stack imports its tables, which is the guard we
 * want around stateful resources. Set explicitly so a CDK default change cannot flip it.
 */
export const appContextDefaults = {
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
} as const;

/**
 * cdk.json's context: the stage default and the feature flags `cdk init` writes for the installed
 * aws-cdk-lib (its recommended-feature-flags.json; `@aws-cdk/core:defaultCrossStackReferences`
 * kept `strong`, see above). The CLI reads it itself; buildApp passes it too, so the tests
 * synthesize exactly what `cdk synth` does.
 */
export const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(fromRoot('cdk.json'), 'utf8'),
).context;

export interface TollgateStacks {
  config: StageConfig;
  env: Environment;
  data: DataStack;
  api: ApiStack;
  jobs: JobsStack;
  /** Absent when the stage does not deploy model endpoints (`models.deploy`, `-c models=`). */
  models: ModelsStack | undefined;
  observability: ObservabilityStack;
  console: ConsoleStack;
  /** The web ACL's own stack (us-east-1), only for a stage with `waf` whose Console stack is elsewhere. */
  waf: WafStack | undefined;
  /** The endpoints and inference components of the stage's catalog, whether or not they are deployed. */
  endpoints: EndpointPlan[];
}

/** Where `npm run build:web` puts the console; the Console stack uploads it. */
export const defaultWebDist = fromRoot('web', 'dist');

/** What the stacks are built from; tests may swap the catalog and deployments. */
export interface CatalogInput {
  catalog?: SeedCatalog;
  deployments?: Record<string, ModelDeployment>;
}

/** `Tollgate-Dev-Data` and so on: one stage per account/region pair can coexist with others. */
export function stackName(stage: Stage, part: string): string {
  return `Tollgate-${stageTitle(stage)}-${part}`;
}

/**
 * Adds one stage's stacks to an app. Shared by the CLI entry (app.ts) and the tests, so both see
 * the same wiring. Stateful stacks first; compute stacks receive what they need as props (typed
 * cross-stack references), never by looking names up.
 */
export function addTollgateStacks(
  app: App,
  config: StageConfig,
  env: Environment,
  source: CatalogInput = {},
  webDist: string = defaultWebDist,
): TollgateStacks {
  assertPinnedModelImage(config);
  const name = (part: string) => stackName(config.stage, part);
  const terminationProtection = config.retainData;
  // Planned on every synth, deployed or not: a catalog version without hosting (or hosting
  // without a version) stops the synth of every stage, not just the one that deploys models.
  const catalog = source.catalog ?? seedCatalog(config.stage);
  const endpoints = planEndpoints(catalog, source.deployments ?? modelDeployments, {
    maxInstancesPerEndpoint: config.models.maxInstancesPerEndpoint,
  });

  const data = new DataStack(app, name('Data'), {
    stackName: name('Data'),
    description: `Tollgate ${config.stage}: DynamoDB tables, batch files (S3) and batch work queue (SQS)`,
    env,
    terminationProtection,
    config,
  });

  const api = new ApiStack(app, name('Api'), {
    stackName: name('Api'),
    description: `Tollgate ${config.stage}: public API (HTTP API + Lambda)`,
    env,
    terminationProtection,
    config,
    tables: data.tables,
    batchBucket: data.batchBucket,
    batchQueue: data.batchQueue,
  });

  const jobs = new JobsStack(app, name('Jobs'), {
    stackName: name('Jobs'),
    description: `Tollgate ${config.stage}: jobs off the request path (quota reservation sweeper, billing sync, usage stream consumer, batch worker)`,
    env,
    config,
    main: data.tables.main,
    usage: data.tables.usage,
    stripeSecret: api.stripeSecret,
    batchBucket: data.batchBucket,
    batchQueue: data.batchQueue,
  });

  // Nothing here references the endpoints: the API invokes them by name (its IAM allows
  // `tollgate-<stage>-*`), so the models can be deployed, replaced or removed on their own.
  const models = config.models.deploy
    ? new ModelsStack(app, name('Models'), {
        stackName: name('Models'),
        description: `Tollgate ${config.stage}: SageMaker endpoints, one inference component per model version`,
        env,
        config,
        endpoints,
      })
    : undefined;

  const observability = new ObservabilityStack(app, name('Observability'), {
    stackName: name('Observability'),
    description: `Tollgate ${config.stage}: dashboard and alarms`,
    env,
    config,
    apiFunctions: api.functions,
    streamFunction: api.streamFunction,
    httpApi: api.httpApi,
    catalog,
    endpoints: models ? endpoints : [],
  });

  // Each inference component names its version's latency and 5xx alarms (by name) for automatic
  // rollback: they must exist before a release starts, so the alarms deploy first.
  models?.addDependency(
    observability,
    'inference components roll back on the alarms of the Observability stack',
  );

  // WAF keeps CLOUDFRONT-scoped web ACLs in us-east-1 only: a Console stack there holds its own;
  // elsewhere the ACL gets a stack of its own in us-east-1, read through a cross-region reference.
  const waf =
    config.waf && env.region !== cloudFrontWafRegion
      ? new WafStack(app, name('Waf'), {
          stackName: name('Waf'),
          description: `Tollgate ${config.stage}: the WAF web ACL of the console's CloudFront distribution`,
          env: { account: env.account, region: cloudFrontWafRegion },
          terminationProtection,
          crossRegionReferences: true,
          config,
          waf: config.waf,
        })
      : undefined;

  // Last: it depends on the API (its origins); nothing depends on it, so the console can be
  // redeployed on its own (`cdk deploy Tollgate-Dev-Console`).
  const consoleStack = new ConsoleStack(app, name('Console'), {
    ...(waf ? { crossRegionReferences: true, webAclArn: waf.firewall.webAcl.attrArn } : {}),
    stackName: name('Console'),
    description: `Tollgate ${config.stage}: the web console on CloudFront, in front of the API`,
    env,
    config,
    httpApi: api.httpApi,
    streamUrl: api.streamUrl,
    edgeSecret: api.edgeSecret,
    webDist,
  });

  observability.alarmOnFunctionErrors(
    'BillingSync',
    jobs.billingSync,
    'The billing sync job crashed. Reruns are idempotent (cursor + identifiers): fix the cause; the schedule carries on.',
  );

  observability.alarmOnDeadLetters(
    'Jobs',
    jobs.deadLetters,
    'A scheduled job (reservation sweeper or billing sync) could not be invoked or crashed; the message holds the event. Find the cause in the function logs; the next scheduled run carries on, so do not replay it.',
  );

  observability.watchUsageConsumer(jobs.usageConsumer, jobs.usageConsumerFailures);

  observability.watchBatch(data.batchQueue, data.batchDeadLetters, jobs.batchWorker, batchMaxReceiveCount);

  const jobThrottled =
    'Lambda throttled a job: the account ran out of unreserved concurrency (the API functions reserve theirs; docs/deploy.md, Lambda concurrency). Scheduled runs retry or carry on next time; the usage consumer falls behind.';
  observability.alarmOnThrottles('Sweeper', jobs.sweeper, jobThrottled);
  observability.alarmOnThrottles(
    'BillingSync',
    jobs.billingSync,
    'Lambda throttled the billing sync: it reserves one run at a time, so a run was still going when the next was due (its timeout is at most the schedule period: look for a slow start or a hung run in its log group). The throttled run is retried by Lambda; the walk resumes where it stopped either way.',
  );
  observability.alarmOnThrottles('UsageConsumer', jobs.usageConsumer, jobThrottled);
  observability.alarmOnThrottles(
    'BatchWorker',
    jobs.batchWorker,
    `Lambda throttled the batch worker: all of its ${config.concurrency.batchWorker} reserved executions were busy (infra/config.ts concurrency.batchWorker). The queue's event source takes one less, so this is the sweep or a retry colliding with a full set of chunks: batch goes slower, nothing is lost (the message returns to the queue).`,
  );

  for (const stack of [data, api, jobs, models, observability, consoleStack, waf]) {
    if (!stack) continue;
    Tags.of(stack).add('project', 'tollgate');
    Tags.of(stack).add('stage', config.stage);
  }
  return { config, env, data, api, jobs, models, observability, console: consoleStack, waf, endpoints };
}

export interface BuildAppOptions {
  account?: string;
  region?: string;
  /**
   * Run esbuild for the functions (default true). Template assertions can turn it off: CDK then
   * skips asset bundling but still validates the entry file; the CLI synth test covers bundling.
   */
  bundling?: boolean;
  outdir?: string;
  /** Same as the CLI's `-c models=`, `-c modelServerTag=`, `-c alarmEmail=`. */
  overrides?: ContextOverrides;
  source?: CatalogInput;
  /** The built console to upload (default web/dist). */
  webDist?: string;
  /** Changes the stage config before validation (tests: a custom domain, say). */
  configure?: (config: StageConfig) => StageConfig;
}

/** A fresh app with one stage's stacks, for tests and scripts (no CLI, no AWS calls). */
export function buildApp(stage: Stage, options: BuildAppOptions = {}): TollgateStacks & { app: App } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...cdkJsonContext,
      ...appContextDefaults,
      stage,
      ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });
  const base = options.configure
    ? validateStageConfig(options.configure(stageConfig(stage)))
    : stageConfig(stage);
  const config = withOverrides(base, options.overrides ?? {});
  const env = resolveEnv(config, { account: options.account, region: options.region }, {});
  return { app, ...addTollgateStacks(app, config, env, options.source, options.webDist) };
}
