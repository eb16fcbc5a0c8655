import { App, type Environment, Tags } from 'aws-cdk-lib';
import { resolveEnv, type Stage, type StageConfig, stageConfig, stageTitle } from './config';
import { ApiStack } from './stacks/api-stack';
import { DataStack } from './stacks/data-stack';

/**
 * Context defaults for every app (cdk.json and `-c` still win). Strong cross-stack references:
 * the data stack cannot be deleted while the API stack imports its tables, which is the guard we
 * want around stateful resources. Set explicitly so a CDK default change cannot flip it.
 */
export const appContextDefaults = {
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
} as const;

export interface TollgateStacks {
  config: StageConfig;
  env: Environment;
  data: DataStack;
  api: ApiStack;
  // Later issues add: models (SageMaker endpoints), billing jobs, console, observability.
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
export function addTollgateStacks(app: App, config: StageConfig, env: Environment): TollgateStacks {
  const name = (part: string) => stackName(config.stage, part);
  const terminationProtection = config.retainData;

  const data = new DataStack(app, name('Data'), {
    stackName: name('Data'),
    description: `Tollgate ${config.stage}: DynamoDB tables`,
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
  });

  for (const stack of [data, api]) {
    Tags.of(stack).add('project', 'tollgate');
    Tags.of(stack).add('stage', config.stage);
  }
  return { config, env, data, api };
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
}

/** A fresh app with one stage's stacks, for tests and scripts (no CLI, no AWS calls). */
export function buildApp(stage: Stage, options: BuildAppOptions = {}): TollgateStacks & { app: App } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...appContextDefaults,
      stage,
      ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });
  const config = stageConfig(stage);
  const env = resolveEnv(config, { account: options.account, region: options.region }, {});
  return { app, ...addTollgateStacks(app, config, env) };
}
