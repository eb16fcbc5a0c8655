import type { ModelDeployment } from '../shared/catalog/deployment';
import type { ModelDefinition, ModelVersion } from '../shared/catalog/types';

/** What `seedCatalog(stage)` returns: the models and versions a stage starts with. */
export interface SeedCatalog {
  models: ModelDefinition[];
  versions: ModelVersion[];
}

/** One production variant: a catalog version joined with how it is hosted. */
export interface VariantPlan {
  /** `model@version`, the key of `modelDeployments` and the `ModelVersion` metric dimension. */
  key: string;
  model: string;
  version: string;
  variant: string;
  /** The deployment with the stage's instance cap applied. */
  deployment: ModelDeployment;
  /** Share of requests WITHOUT a TargetVariant; the gateway always names one (see weights()). */
  initialWeight: number;
  /** The version's own call budget, when the catalog sets one. */
  timeoutMs: number | undefined;
}

/** One SageMaker endpoint with its variants, in catalog order. */
export interface EndpointPlan {
  endpointName: string;
  variants: VariantPlan[];
}

/**
 * SageMaker's pattern for endpoint and variant names (also what the local runtime accepts):
 * letters, digits and single or repeated hyphens, at most 63 characters. No dots: a version id
 * such as `1.7b` needs a different variant name.
 */
export const sagemakerNamePattern = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export const versionKey = (v: { model: string; version: string }): string => `${v.model}@${v.version}`;

/**
 * Joins the seed catalog with the deployments, grouped by endpoint: the single place that decides
 * what the Models stack builds and what the dashboard and alarms watch. Throws, naming the culprit,
 * on anything the deploy would otherwise discover an hour in: a version without hosting, hosting for
 * a version the catalog does not have, names SageMaker rejects, capacities that contradict.
 * Retired versions are not hosted: nothing routes to them.
 */
export function planEndpoints(
  catalog: SeedCatalog,
  deployments: Record<string, ModelDeployment>,
  options: { maxInstancesPerVariant?: number | undefined } = {},
): EndpointPlan[] {
  const problems: string[] = [];
  const missing = catalog.versions
    .filter((v) => v.status !== 'retired' && !(versionKey(v) in deployments))
    .map(versionKey);
  if (missing.length > 0) {
    problems.push(`no deployment in shared/catalog/deployment.ts for ${missing.join(', ')}`);
  }
  const unknown = unusedDeployments(catalog, deployments);
  if (unknown.length > 0) {
    problems.push(`deployments for versions the catalog does not have: ${unknown.join(', ')}`);
  }

  const modelsByName = new Map(catalog.models.map((m) => [m.name, m]));
  const endpoints = new Map<string, VariantPlan[]>();
  for (const version of catalog.versions) {
    const key = versionKey(version);
    const deployment = deployments[key];
    const model = modelsByName.get(version.model);
    if (!model) problems.push(`${key}: model ${version.model} is not in the catalog`);
    if (!deployment || !model || version.status === 'retired') continue;
    for (const problem of deploymentProblems(deployment)) problems.push(`${key}: ${problem}`);
    if (!sagemakerNamePattern.test(version.endpointName)) {
      problems.push(`${key}: endpoint name ${version.endpointName} is not a valid SageMaker name`);
    }
    if (!sagemakerNamePattern.test(version.variant)) {
      problems.push(`${key}: variant name ${version.variant} is not a valid SageMaker name`);
    }
    const variants = endpoints.get(version.endpointName) ?? [];
    if (variants.some((v) => v.variant === version.variant)) {
      problems.push(`${key}: variant ${version.variant} is used twice on ${version.endpointName}`);
    }
    variants.push({
      key,
      model: version.model,
      version: version.version,
      variant: version.variant,
      deployment: capInstances(deployment, options.maxInstancesPerVariant),
      initialWeight: weight(model, version.version),
      timeoutMs: version.limits.timeoutMs,
    });
    endpoints.set(version.endpointName, variants);
  }
  if (problems.length > 0) throw new Error(`Model deployment plan is invalid:\n- ${problems.join('\n- ')}`);

  return [...endpoints].map(([endpointName, variants]) => ({
    endpointName,
    variants: ensureRoutable(variants),
  }));
}

/**
 * Deployments whose model is in the catalog but whose version is not. Entries for a model the
 * catalog does not have at all are tolerated (unused): a model's hosting may land before its
 * catalog entry.
 */
export function unusedDeployments(
  catalog: SeedCatalog,
  deployments: Record<string, ModelDeployment>,
): string[] {
  const models = new Set(catalog.models.map((m) => m.name));
  const versions = new Set(catalog.versions.map(versionKey));
  return Object.keys(deployments).filter((key) => {
    const model = key.slice(0, key.indexOf('@'));
    return models.has(model) && !versions.has(key);
  });
}

function deploymentProblems(d: ModelDeployment): string[] {
  const problems: string[] = [];
  if (!d.instanceType.startsWith('ml.')) problems.push(`instance type ${d.instanceType} is not an ml.* type`);
  const counts = [d.initialInstanceCount, d.minCapacity, d.maxCapacity];
  if (!counts.every((n) => Number.isInteger(n) && n >= 1)) {
    problems.push('instance counts must be integers >= 1 (real-time variants cannot scale to zero)');
  } else if (!(d.minCapacity <= d.initialInstanceCount && d.initialInstanceCount <= d.maxCapacity)) {
    problems.push('capacities must satisfy minCapacity <= initialInstanceCount <= maxCapacity');
  }
  if (!(d.targetInvocationsPerInstance > 0)) problems.push('targetInvocationsPerInstance must be > 0');
  if (d.modelDataUrl !== undefined && !parseS3Url(d.modelDataUrl)) {
    problems.push(`modelDataUrl ${d.modelDataUrl} is not s3://bucket/key.tar.gz or s3://bucket/prefix/`);
  }
  if (d.image.kind === 'hf-tgi' || d.image.kind === 'hf-inference') {
    if ((d.image.hfModelId === undefined) === (d.modelDataUrl === undefined)) {
      problems.push('a Hugging Face image needs exactly one of hfModelId and modelDataUrl');
    }
  }
  if (d.image.kind === 'model-server' && d.image.imageUri !== undefined && !parseEcrImage(d.image.imageUri)) {
    problems.push(
      `imageUri ${d.image.imageUri} is not an ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>)`,
    );
  }
  return problems;
}

function capInstances(d: ModelDeployment, cap: number | undefined): ModelDeployment {
  if (cap === undefined) return d;
  return {
    ...d,
    initialInstanceCount: Math.min(d.initialInstanceCount, cap),
    minCapacity: Math.min(d.minCapacity, cap),
    maxCapacity: Math.min(d.maxCapacity, cap),
  };
}

/**
 * Initial variant weights. SageMaker uses them only for requests that name no TargetVariant; the
 * gateway always names one (the resolved version's variant), so they matter for manual calls
 * (console "test inference", `aws sagemaker-runtime invoke-endpoint`) and as a safe default. They
 * follow the catalog's rule for unpinned requests: the model's `traffic` split (version -> weight)
 * when it gives any version a positive weight, else everything to the default version.
 */
function weight(model: ModelDefinition, version: string): number {
  const split = positiveTraffic(model);
  if (split) return split[version] ?? 0;
  return version === model.defaultVersion ? 1 : 0;
}

function positiveTraffic(model: ModelDefinition): Record<string, number> | undefined {
  const traffic = (model as { traffic?: unknown }).traffic;
  if (!traffic || typeof traffic !== 'object' || Array.isArray(traffic)) return undefined;
  const positive = Object.entries(traffic as Record<string, unknown>).filter(
    (entry): entry is [string, number] =>
      typeof entry[1] === 'number' && Number.isFinite(entry[1]) && entry[1] > 0,
  );
  return positive.length > 0 ? Object.fromEntries(positive) : undefined;
}

/**
 * An endpoint whose weights are all zero refuses untargeted calls (its default version may be
 * retired, or live elsewhere): give its first variant 1 then.
 */
function ensureRoutable(variants: VariantPlan[]): VariantPlan[] {
  if (variants.some((v) => v.initialWeight > 0)) return variants;
  return variants.map((v, i) => ({ ...v, initialWeight: i === 0 ? 1 : 0 }));
}

/** `s3://bucket/key` -> bucket, key, and whether it is an uncompressed prefix (trailing slash). */
export function parseS3Url(url: string): { bucket: string; key: string; prefix: boolean } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!match) return undefined;
  const [, bucket, key] = match as unknown as [string, string, string];
  const prefix = key.endsWith('/');
  if (!prefix && !key.endsWith('.tar.gz')) return undefined;
  return { bucket, key, prefix };
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repo>(:tag|@digest)` -> its parts. */
export function parseEcrImage(
  uri: string,
): { account: string; region: string; repository: string } | undefined {
  const match =
    /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/.exec(
      uri,
    );
  if (!match) return undefined;
  const [, account, region, repository] = match as unknown as [string, string, string, string];
  return { account, region, repository };
}
