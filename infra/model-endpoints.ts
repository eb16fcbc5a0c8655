import {
  type CopyResources,
  inferenceComponentName,
  type ModelDeployment,
} from '../shared/catalog/deployment';
import type { ModelDefinition, ModelVersion } from '../shared/catalog/types';

/** What `seedCatalog(stage)` returns: the models and versions a stage starts with. */
export interface SeedCatalog {
  models: ModelDefinition[];
  versions: ModelVersion[];
}

/** One inference component: a catalog version joined with how it is hosted. */
export interface ComponentPlan {
  /** `model@version`, the key of `modelDeployments` and the `ModelVersion` metric dimension. */
  key: string;
  model: string;
  version: string;
  /** The version's name on its endpoint (the catalog's `variant`). */
  variant: string;
  /** `inferenceComponentName(version)`: what the gateway sends as `InferenceComponentName`. */
  componentName: string;
  /** A preview version starts at zero copies and may scale back to zero (woken by its first call). */
  scalesToZero: boolean;
  /** The deployment with the copy counts this stage runs (preview: from zero; the stage's cap). */
  deployment: ModelDeployment;
  /** The version's own call budget, when the catalog sets one. */
  timeoutMs: number | undefined;
}

/** Instances of an endpoint, under SageMaker's managed instance scaling. */
export interface InstanceCounts {
  initial: number;
  min: number;
  max: number;
}

/** One SageMaker endpoint: one instance type, its instance bounds, and its components in catalog order. */
export interface EndpointPlan {
  endpointName: string;
  instanceType: string;
  instances: InstanceCounts;
  components: ComponentPlan[];
}

/** The one production variant of an endpoint that hosts inference components. */
export const endpointVariantName = 'AllTraffic';

/**
 * What an instance offers to inference components: vCPUs, memory (MiB) and GPUs, from the
 * SageMaker instance types page. An instance type missing here stops the synth (add its line):
 * without it the plan cannot tell whether a copy fits or how many instances the copies need.
 * SageMaker keeps some of each instance for itself; `resources` in deployment.ts leave headroom.
 */
export const instanceCapacity: Record<string, { vcpus: number; memoryMb: number; gpus: number }> = {
  'ml.c5.large': { vcpus: 2, memoryMb: 4_096, gpus: 0 },
  'ml.c5.xlarge': { vcpus: 4, memoryMb: 8_192, gpus: 0 },
  'ml.c5.2xlarge': { vcpus: 8, memoryMb: 16_384, gpus: 0 },
  'ml.c5.4xlarge': { vcpus: 16, memoryMb: 32_768, gpus: 0 },
  'ml.m5.large': { vcpus: 2, memoryMb: 8_192, gpus: 0 },
  'ml.m5.xlarge': { vcpus: 4, memoryMb: 16_384, gpus: 0 },
  'ml.g4dn.xlarge': { vcpus: 4, memoryMb: 16_384, gpus: 1 },
  'ml.g5.xlarge': { vcpus: 4, memoryMb: 16_384, gpus: 1 },
  'ml.g5.2xlarge': { vcpus: 8, memoryMb: 32_768, gpus: 1 },
  'ml.g5.12xlarge': { vcpus: 48, memoryMb: 196_608, gpus: 4 },
  'ml.g6.xlarge': { vcpus: 4, memoryMb: 16_384, gpus: 1 },
  'ml.g6.2xlarge': { vcpus: 8, memoryMb: 32_768, gpus: 1 },
  'ml.g6.12xlarge': { vcpus: 48, memoryMb: 196_608, gpus: 4 },
  'ml.g6e.xlarge': { vcpus: 4, memoryMb: 32_768, gpus: 1 },
  'ml.g6e.2xlarge': { vcpus: 8, memoryMb: 65_536, gpus: 1 },
};

/**
 * SageMaker's pattern for endpoint, variant and inference component names (also what the local
 * runtime accepts): letters, digits and single or repeated hyphens, at most 63 characters. No
 * dots: a version id such as `1.7b` needs a different variant name.
 */
export const sagemakerNamePattern = /^(?=.{1,63}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;

export const versionKey = (v: { model: string; version: string }): string => `${v.model}@${v.version}`;

/**
 * The CloudWatch alarms of one inference component (Observability stack), by name: the Models
 * stack names the first two in the component's automatic rollback, so a release that trips them
 * rolls back by itself. Names, not references: the Models stack deploys after the Observability
 * stack and reads nothing from it.
 */
export function componentAlarmNames(stage: string, componentName: string) {
  const name = (suffix: string) => `tollgate-${stage}-${componentName}-${suffix}`;
  return {
    latency: name('Latency'),
    errorRate: name('5xxRate'),
    cold: name('Cold'),
    /** In the Models stack: its action is the step scaling that brings a copy up from zero. */
    wake: name('Wake'),
  };
}

/**
 * Joins the seed catalog with the deployments, grouped by endpoint: the single place that decides
 * what the Models stack builds and what the dashboard and alarms watch. Throws, naming the culprit,
 * on anything the deploy would otherwise discover an hour in: a version without hosting, hosting for
 * a version the catalog does not have, names SageMaker rejects, two instance types on one
 * endpoint, a copy that fits no instance, copy counts that contradict. Retired versions are not
 * hosted: nothing routes to them.
 */
export function planEndpoints(
  catalog: SeedCatalog,
  deployments: Record<string, ModelDeployment>,
  options: { maxInstancesPerEndpoint?: number | undefined } = {},
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
  const endpoints = new Map<string, ComponentPlan[]>();
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
    const componentName = inferenceComponentName(version);
    if (!sagemakerNamePattern.test(version.variant)) {
      problems.push(`${key}: variant name ${version.variant} is not a valid SageMaker name`);
    } else if (!sagemakerNamePattern.test(componentName)) {
      problems.push(`${key}: inference component name ${componentName} is not a valid SageMaker name`);
    }
    const components = endpoints.get(version.endpointName) ?? [];
    if (components.some((v) => v.variant === version.variant)) {
      problems.push(`${key}: variant ${version.variant} is used twice on ${version.endpointName}`);
    }
    const scalesToZero = version.status === 'preview';
    components.push({
      key,
      model: version.model,
      version: version.version,
      variant: version.variant,
      componentName,
      scalesToZero,
      deployment: stageCopies(deployment, scalesToZero, options.maxInstancesPerEndpoint),
      timeoutMs: version.limits.timeoutMs,
    });
    endpoints.set(version.endpointName, components);
  }

  const plans: EndpointPlan[] = [];
  for (const [endpointName, components] of endpoints) {
    const types = [...new Set(components.map((c) => c.deployment.instanceType))];
    if (types.length > 1) {
      problems.push(
        `${endpointName}: its versions name different instance types (${types.join(', ')}); an endpoint has one`,
      );
      continue;
    }
    const instanceType = types[0]!;
    const capacity = instanceCapacity[instanceType];
    if (!capacity) {
      if (instanceType.startsWith('ml.')) {
        problems.push(
          `${endpointName}: instance type ${instanceType} is not in instanceCapacity (infra/model-endpoints.ts): add its vCPUs, memory and GPUs`,
        );
      }
      continue;
    }
    const tooBig = components.filter((c) => !fits(c.deployment.resources, capacity));
    for (const c of tooBig) {
      problems.push(`${c.key}: one copy needs more than one ${instanceType} offers (${describe(capacity)})`);
    }
    if (tooBig.length > 0) continue;
    const instancesFor = (count: (d: ModelDeployment) => number) =>
      instancesNeeded(
        components.flatMap((c) => Array<CopyResources>(count(c.deployment)).fill(c.deployment.resources)),
        capacity,
      );
    const cap = options.maxInstancesPerEndpoint ?? Number.POSITIVE_INFINITY;
    const initial = Math.max(
      1,
      instancesFor((d) => d.initialCopies),
    );
    const instances = {
      initial,
      min: instancesFor((d) => d.minCopies),
      max: Math.max(
        initial,
        Math.min(
          cap,
          instancesFor((d) => d.maxCopies),
        ),
      ),
    };
    if (initial > cap) {
      problems.push(
        `${endpointName}: its initial copies need ${initial} instances, more than the stage allows per endpoint (${cap})`,
      );
    }
    plans.push({ endpointName, instanceType, instances, components });
  }
  if (problems.length > 0) throw new Error(`Model deployment plan is invalid:\n- ${problems.join('\n- ')}`);
  return plans;
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
  const counts = [d.initialCopies, d.minCopies, d.maxCopies];
  if (!counts.every((n) => Number.isInteger(n) && n >= 1)) {
    problems.push(
      'copy counts must be integers >= 1 (only a preview version scales to zero, and the catalog status decides that)',
    );
  } else if (!(d.minCopies <= d.initialCopies && d.initialCopies <= d.maxCopies)) {
    problems.push('copy counts must satisfy minCopies <= initialCopies <= maxCopies');
  }
  const { acceleratorDevices = 0, cpuCores, memoryMb } = d.resources;
  if (!(Number.isInteger(acceleratorDevices) && acceleratorDevices >= 0)) {
    problems.push('resources.acceleratorDevices must be a whole number of GPUs');
  }
  if (!(cpuCores > 0) || !(memoryMb >= 128)) {
    problems.push('resources must reserve some CPU (cpuCores > 0) and at least 128 MB (memoryMb)');
  }
  if (!(d.targetConcurrentRequestsPerCopy > 0)) problems.push('targetConcurrentRequestsPerCopy must be > 0');
  if (d.modelDataUrl !== undefined && !parseS3Url(d.modelDataUrl)) {
    problems.push(`modelDataUrl ${d.modelDataUrl} is not s3://bucket/key.tar.gz or s3://bucket/prefix/`);
  }
  if (d.image.kind === 'hf-tgi' || d.image.kind === 'hf-inference') {
    if ((d.image.hfModelId === undefined) === (d.modelDataUrl === undefined)) {
      problems.push('a Hugging Face image needs exactly one of hfModelId and modelDataUrl');
    }
  }
  if (d.image.kind === 'hf-tgi' && d.image.numGpus !== acceleratorDevices) {
    problems.push(
      `TGI shards over numGpus (${d.image.numGpus}) GPUs, so each copy must reserve as many (resources.acceleratorDevices: ${acceleratorDevices})`,
    );
  }
  if (d.image.kind === 'model-server' && d.image.imageUri !== undefined && !parseEcrImage(d.image.imageUri)) {
    problems.push(
      `imageUri ${d.image.imageUri} is not an ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>)`,
    );
  }
  return problems;
}

/** Copy counts as the stage runs them: a preview version from zero; the stage's cap on the maximum. */
function stageCopies(d: ModelDeployment, scalesToZero: boolean, cap: number | undefined): ModelDeployment {
  const max = Math.min(d.maxCopies, cap ?? Number.POSITIVE_INFINITY);
  if (scalesToZero) return { ...d, initialCopies: 0, minCopies: 0, maxCopies: max };
  return {
    ...d,
    minCopies: Math.min(d.minCopies, max),
    initialCopies: Math.min(d.initialCopies, max),
    maxCopies: max,
  };
}

type Capacity = (typeof instanceCapacity)[string];

function fits(r: CopyResources, free: Capacity): boolean {
  return (r.acceleratorDevices ?? 0) <= free.gpus && r.cpuCores <= free.vcpus && r.memoryMb <= free.memoryMb;
}

function describe(c: Capacity): string {
  return `${c.vcpus} vCPUs, ${c.memoryMb} MB${c.gpus > 0 ? `, ${c.gpus} GPU${c.gpus > 1 ? 's' : ''}` : ''}`;
}

/**
 * Instances that hold these copies, placed first-fit, largest first (GPUs, then cores, then
 * memory): the count SageMaker's managed instance scaling would need, as an upper bound of what
 * its own placement reaches. Every copy is known to fit an empty instance.
 */
export function instancesNeeded(copies: CopyResources[], capacity: Capacity): number {
  const order = [...copies].sort(
    (a, b) =>
      (b.acceleratorDevices ?? 0) - (a.acceleratorDevices ?? 0) ||
      b.cpuCores - a.cpuCores ||
      b.memoryMb - a.memoryMb,
  );
  const instances: Capacity[] = [];
  for (const copy of order) {
    let home = instances.find((free) => fits(copy, free));
    if (!home) {
      home = { ...capacity };
      instances.push(home);
    }
    home.gpus -= copy.acceleratorDevices ?? 0;
    home.vcpus -= copy.cpuCores;
    home.memoryMb -= copy.memoryMb;
  }
  return instances.length;
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
