import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { sagemakerNamePattern, unusedDeployments, versionKey } from '../../infra/model-endpoints';
import { sagemakerEndpointPattern } from '../../infra/stacks/api-stack';
import {
  inferenceComponentName,
  modelDeployments,
  proposedDeployments,
} from '../../shared/catalog/deployment';
import { seedCatalog } from '../../shared/catalog/seed';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
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

  /** Every inference component as deployed: its name and the name of the endpoint it is on. */
  const deployedComponents = (() => {
    const endpoints: Record<string, Cfn> = models.findResources('AWS::SageMaker::Endpoint');
    return Object.values(models.findResources('AWS::SageMaker::InferenceComponent')).map((c: Cfn) => {
      const endpointId = c.Properties.EndpointName['Fn::GetAtt'][0];
      return {
        component: c.Properties.InferenceComponentName as string,
        endpoint: endpoints[endpointId].Properties.EndpointName as string,
      };
    });
  })();
  /** Endpoint names as deployed. */
  const deployed = Object.values(models.findResources('AWS::SageMaker::Endpoint')).map(
    (e: Cfn) => e.Properties.EndpointName as string,
  );

  it('hosts every seed version that is not retired as exactly one inference component, on its catalog endpoint, and nothing else', () => {
    const routed = seed.versions
      .filter((v) => v.status !== 'retired')
      .map((v) => `${v.endpointName}/${inferenceComponentName(v)}`);
    const hosted = deployedComponents.map((c) => `${c.endpoint}/${c.component}`);
    // Sorted lists, not sets: a version hosted twice, or a component of no version, fails.
    expect([...hosted].sort()).toEqual([...routed].sort());
    expect(new Set(deployedComponents.map((c) => c.component)).size).toBe(deployedComponents.length);
    // Every endpoint hosts something; none is left over from a removed model.
    expect([...new Set(deployedComponents.map((c) => c.endpoint))].sort()).toEqual([...deployed].sort());
  });

  it('names each component as the gateway addresses it (InferenceComponentName from the catalog)', async () => {
    const sent: string[] = [];
    const client = new SageMakerModelClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    // The SDK client the gateway uses, stopped before the network: the header it would send.
    const sdk = (client as unknown as { client: { middlewareStack: Cfn } }).client;
    sdk.middlewareStack.add(
      (_next: unknown) => async (args: Cfn) => {
        sent.push(args.request.headers['x-amzn-sagemaker-inference-component']);
        throw Object.assign(new Error('stop'), { $metadata: {} });
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    for (const v of seed.versions.filter((x) => x.status !== 'retired')) {
      await client.invokeStream({
        endpointName: v.endpointName,
        variant: v.variant,
        body: {},
        timeoutMs: 1_000,
        requestId: 'req_agreement',
      });
    }
    client.destroy();
    expect(sent.sort()).toEqual(deployedComponents.map((c) => c.component).sort());
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
    const names = deployed;
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
