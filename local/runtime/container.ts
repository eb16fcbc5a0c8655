import { seedCatalog } from '../../shared/catalog/seed';
// Types only: reading the settings must not load the model libraries (the infra tests use it).
import type { EndpointRegistry } from './registry';

/**
 * SageMaker inference container mode. The Models stack runs the model-server image once per
 * production variant and names the version it hosts in `TOLLGATE_MODEL_VERSION` (`model@version`);
 * SageMaker then sends `GET /ping` and `POST /invocations` to port 8080 of every container.
 */
export interface ContainerMode {
  /** `model@version`: the one version this container loads and serves. */
  version: string;
  port: number;
  host: string;
}

/** Container mode from the environment, or undefined when `TOLLGATE_MODEL_VERSION` is unset. */
export function containerMode(
  env: Record<string, string | undefined>,
  stage: string,
): ContainerMode | undefined {
  const version = env.TOLLGATE_MODEL_VERSION?.trim();
  if (!version) return undefined;
  // Exactly one known version: a bare model name would load every version of it.
  const known = seedCatalog(stage).versions.some((v) => `${v.model}@${v.version}` === version);
  if (!known) {
    throw new Error(`TOLLGATE_MODEL_VERSION must name one version as model@version, got '${version}'`);
  }
  return { version, port: 8080, host: '0.0.0.0' };
}

/** The endpoint and variant of the one version a container registry holds. */
export function containerTarget(registry: EndpointRegistry): { endpointName: string; variant: string } {
  const targets = [...registry].flatMap(([endpointName, config]) =>
    [...config.variants.keys()].map((variant) => ({ endpointName, variant })),
  );
  if (targets.length !== 1)
    throw new Error(`a container hosts one version, this registry has ${targets.length}`);
  return targets[0]!;
}
