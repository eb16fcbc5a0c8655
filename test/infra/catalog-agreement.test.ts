import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { sagemakerNamePattern, unusedDeployments, versionKey } from '../../infra/model-endpoints';
import { sagemakerEndpointPattern } from '../../infra/stacks/api-stack';
import { modelDeployments, proposedDeployments } from '../../shared/catalog/deployment';
import { seedCatalog } from '../../shared/catalog/seed';
import { asArray, type Cfn, policyStatements, render, templates } from './helpers';

/** `tollgate-dev-*` -> a regex for the names the glob admits (IAM `*` is any run of characters). */
function globRegex(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

describe.each(stages)('catalog seed and Models stack agree (%s)', (stage) => {
  const seed = seedCatalog(stage);
  const { models, api } = templates(stage);

  /** (endpoint, variant) pairs as deployed: each EndpointConfig's variants under its endpoint's name. */
  const deployed = (() => {
    const configs = models.findResources('AWS::SageMaker::EndpointConfig');
    return Object.values(models.findResources('AWS::SageMaker::Endpoint')).flatMap((endpoint: Cfn) => {
      const config: Cfn = configs[endpoint.Properties.EndpointConfigName['Fn::GetAtt'][0]];
      return config.Properties.ProductionVariants.map(
        (v: Cfn) => `${endpoint.Properties.EndpointName}/${v.VariantName}`,
      ) as string[];
    });
  })();

  it('hosts exactly the endpoint/variant of every seed version that is not retired', () => {
    const routed = seed.versions
      .filter((v) => v.status !== 'retired')
      .map((v) => `${v.endpointName}/${v.variant}`);
    expect([...deployed].sort()).toEqual([...routed].sort());
  });

  it('has a deployment for every seed version, and none for a version its model lacks', () => {
    for (const v of seed.versions) expect(modelDeployments, versionKey(v)).toHaveProperty([versionKey(v)]);
    expect(unusedDeployments(seed, modelDeployments)).toEqual([]);
  });

  it("creates only endpoints the API's IAM lets it invoke", () => {
    const [statement] = policyStatements(api).filter((s: Cfn) =>
      asArray<string>(s.Action).includes('sagemaker:InvokeEndpoint'),
    );
    const resource = render(asArray(statement.Resource)[0]);
    expect(resource.endsWith(`:endpoint/${sagemakerEndpointPattern(stage)}`)).toBe(true);
    const pattern = globRegex(sagemakerEndpointPattern(stage));
    const names = deployed.map((pair) => pair.split('/')[0]!);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(name).toMatch(pattern);
      expect(name).toMatch(sagemakerNamePattern);
    }
    // The pattern is the stage's own: another stage's endpoints stay out of reach.
    const other = stages.find((s) => s !== stage)!;
    expect(`tollgate-${other}-sentiment`).not.toMatch(pattern);
  });
});

describe('shared/catalog/deployment.ts', () => {
  it('keeps proposed versions apart from deployed ones, with names SageMaker accepts', () => {
    for (const key of Object.keys(proposedDeployments)) {
      expect(modelDeployments).not.toHaveProperty([key]);
      expect(key.split('@')[1]).toMatch(sagemakerNamePattern);
    }
  });

  it('keys every deployment as model@version', () => {
    for (const key of [...Object.keys(modelDeployments), ...Object.keys(proposedDeployments)]) {
      expect(key).toMatch(/^[a-z0-9][a-z0-9-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/);
    }
  });
});
