import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { instanceCounts } from '../../infra/instance-counts';
import { fromRoot } from '../../infra/paths';
import { templates } from './helpers';

type Variant = {
  InstanceType: string;
  ManagedInstanceScaling: { MinInstanceCount: number; MaxInstanceCount: number };
};

/** What the synthesized Models stack asks SageMaker for, summed per instance type. */
function fromTemplate(stage: (typeof stages)[number]) {
  const configs = Object.values(templates(stage).models.findResources('AWS::SageMaker::EndpointConfig'));
  const byType = new Map<string, { endpoints: number; min: number; max: number }>();
  for (const config of configs) {
    for (const v of (config as { Properties: { ProductionVariants: Variant[] } }).Properties
      .ProductionVariants) {
      const c = byType.get(v.InstanceType) ?? { endpoints: 0, min: 0, max: 0 };
      c.endpoints += 1;
      c.min += v.ManagedInstanceScaling.MinInstanceCount;
      c.max += v.ManagedInstanceScaling.MaxInstanceCount;
      byType.set(v.InstanceType, c);
    }
  }
  return [...byType].map(([instanceType, c]) => ({ instanceType, ...c }));
}

describe('endpoint instances per instance type (infra/instance-counts.ts, the quota and cost figures)', () => {
  for (const stage of stages) {
    it(`${stage}: counts what the Models stack's endpoint configs ask for`, () => {
      const counts = instanceCounts(stage);
      expect(counts.length).toBeGreaterThan(0);
      expect(counts).toEqual(
        expect.arrayContaining(fromTemplate(stage).map((c) => expect.objectContaining(c))),
      );
      expect(counts).toHaveLength(fromTemplate(stage).length);
      for (const c of counts) expect(c.max, c.instanceType).toBeGreaterThanOrEqual(c.min);
    });
  }

  it('prints one line per instance type, named as Service Quotas names the quota', () => {
    const out = execFileSync('npx', ['tsx', fromRoot('infra', 'instance-counts.ts'), 'prod'], {
      cwd: fromRoot(),
      encoding: 'utf8',
    });
    for (const c of instanceCounts('prod')) {
      expect(out).toMatch(
        new RegExp(
          `^${c.instanceType.replace(/\./g, '\\.')} for endpoint usage +${c.endpoints} +${c.min} +${c.max}$`,
          'm',
        ),
      );
    }
  });
});
