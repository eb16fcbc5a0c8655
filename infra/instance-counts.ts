/**
 * Endpoint instances per instance type for a stage, as the Models stack plans them: what to ask
 * Service Quotas for (`<type> for endpoint usage`, the `max` column plus update headroom) and what
 * the stage's endpoints cost when idle (the `min` column). docs/deploy.md uses it:
 *
 *   npx tsx infra/instance-counts.ts prod
 */
import { fileURLToPath } from 'node:url';
import { modelDeployments } from '../shared/catalog/deployment';
import { seedCatalog } from '../shared/catalog/seed';
import { parseStage, stageConfig } from './config';
import { planEndpoints } from './model-endpoints';

export interface InstanceCount {
  instanceType: string;
  endpoints: number;
  /** Instances at the endpoints' minimum: running, and billed, with no traffic. */
  min: number;
  /** Instances when every endpoint of this type is scaled out to its maximum. */
  max: number;
}

export function instanceCounts(stage: string): InstanceCount[] {
  const config = stageConfig(parseStage(stage));
  const plans = planEndpoints(seedCatalog(config.stage), modelDeployments, {
    maxInstancesPerEndpoint: config.models.maxInstancesPerEndpoint,
  });
  const byType = new Map<string, InstanceCount>();
  for (const plan of plans) {
    const count = byType.get(plan.instanceType) ?? {
      instanceType: plan.instanceType,
      endpoints: 0,
      min: 0,
      max: 0,
    };
    count.endpoints += 1;
    count.min += plan.instances.min;
    count.max += plan.instances.max;
    byType.set(plan.instanceType, count);
  }
  return [...byType.values()].sort((a, b) => a.instanceType.localeCompare(b.instanceType));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stage = process.argv[2];
  if (!stage || stage === '--help') {
    console.log('Usage: npx tsx infra/instance-counts.ts <stage>   (dev or prod)');
    process.exit(stage ? 0 : 2);
  }
  console.log('quota (Service Quotas, Amazon SageMaker)        endpoints  min  max');
  for (const c of instanceCounts(stage)) {
    console.log(
      `${`${c.instanceType} for endpoint usage`.padEnd(48)}${String(c.endpoints).padStart(9)}${String(c.min).padStart(5)}${String(c.max).padStart(5)}`,
    );
  }
}
