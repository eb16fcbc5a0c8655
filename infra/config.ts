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
  /**
   * Budget for one model call. Must stay below the function timeout (and API Gateway's 30 s
   * integration cap), so a slow endpoint ends as our own 504 with its reservation released rather
   * than a killed invocation.
   */
  modelTimeoutMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const stageConfigs: Record<Stage, StageConfig> = {
  dev: {
    stage: 'dev',
    region: 'us-east-1',
    retainData: false,
    logRetentionDays: RetentionDays.ONE_WEEK,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
    apiFunction: { memoryMb: 1024, timeoutSeconds: 30 },
    modelTimeoutMs: 25_000,
    logLevel: 'debug',
  },
  prod: {
    stage: 'prod',
    region: 'us-east-1',
    retainData: true,
    logRetentionDays: RetentionDays.THREE_MONTHS,
    apiThrottle: { rateLimit: 1000, burstLimit: 2000 },
    apiFunction: { memoryMb: 1024, timeoutSeconds: 30 },
    modelTimeoutMs: 25_000,
    logLevel: 'info',
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
export function validateStageConfig(config: StageConfig): StageConfig {
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
  return config;
}

export function stageConfig(stage: Stage): StageConfig {
  return validateStageConfig(stageConfigs[stage]);
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
