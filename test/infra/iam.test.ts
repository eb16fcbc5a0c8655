import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { allStacks, asArray, type Cfn, policyStatements, render, templates } from './helpers';

/**
 * Actions IAM cannot scope to a resource: `*` is the narrowest resource there is. Each must still
 * be narrowed where IAM allows it (a condition).
 */
const noResourceLevel: Record<string, ((statement: Cfn) => boolean) | undefined> = {
  'ecr:GetAuthorizationToken': undefined,
  // Lambda active tracing: X-Ray's write actions have no resource-level permissions.
  'xray:PutTraceSegments': undefined,
  'xray:PutTelemetryRecords': undefined,
  'cloudwatch:PutMetricData': (s) => s.Condition?.StringEquals?.['cloudwatch:namespace'] !== undefined,
};

/**
 * CDK's own BucketDeployment function (Console stack) and its role, `DeployRole`: it runs only
 * while CloudFormation deploys, and CDK writes its grants. Their action wildcards and managed
 * policy are accepted finding by finding, with reasons, in console-stack.ts (checked in
 * nag.test.ts); the role takes no `*` resource (below). Everything else is held to these rules.
 */
const cdkDeployFunction =
  /^(CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C|DeployRole[0-9A-F]{8}$|DeployRoleDefaultPolicy)/;

/** A template without CDK's BucketDeployment role and policy. */
function ownResources(template: Template): Template {
  const json = template.toJSON();
  const resources = Object.fromEntries(
    Object.entries(json.Resources as Record<string, Cfn>).filter(([id]) => !cdkDeployFunction.test(id)),
  );
  return Template.fromJSON({ ...json, Resources: resources }, { skipCyclicalDependenciesCheck: true });
}

describe.each(stages)('IAM across every stack (%s)', (stage) => {
  const { stacks } = templates(stage);
  const all = allStacks(stacks).map(
    (stack) => [stack.stackName, ownResources(Template.fromStack(stack))] as const,
  );

  it("exempts only the Console stack's deploy-time function, which exists", () => {
    for (const stack of allStacks(stacks)) {
      const ids = Object.keys(Template.fromStack(stack).toJSON().Resources).filter((id) =>
        cdkDeployFunction.test(id),
      );
      expect(ids.length > 0, stack.stackName).toBe(stack === stacks.console);
    }
  });

  it.each(all)(
    '%s: no wildcard action, no wildcard resource where a narrower one exists',
    (_name, template) => {
      for (const statement of policyStatements(template)) {
        if (statement.Effect !== 'Allow') continue;
        const actions = asArray<string>(statement.Action);
        for (const action of actions) expect(action, JSON.stringify(statement)).not.toContain('*');
        for (const resource of asArray(statement.Resource).map(render)) {
          if (resource !== '*') continue;
          for (const action of actions) {
            expect(Object.keys(noResourceLevel), `${action} on *`).toContain(action);
            const narrowed = noResourceLevel[action];
            if (narrowed) expect(narrowed(statement), `${action} on * needs its condition`).toBe(true);
          }
        }
      }
    },
  );

  it("gives the console's deploy-time function no `*` resource: its invalidation is this distribution's", () => {
    const template = Template.fromStack(stacks.console);
    const own = Object.entries(template.toJSON().Resources as Record<string, Cfn>).filter(
      ([id, r]) => cdkDeployFunction.test(id) && r.Type === 'AWS::IAM::Policy',
    );
    expect(own.length).toBeGreaterThan(0);
    for (const [, policy] of own) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Cfn[]) {
        expect(asArray(statement.Resource), JSON.stringify(statement)).not.toContain('*');
      }
    }
  });

  it.each(all)('%s: roles carry no AWS managed policies', (_name, template) => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Cfn[]) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  /** Each role of every stack (by its description) and the statements of the policies attached to it. */
  const byRole = (): Map<string, Cfn[]> => {
    const found = new Map<string, Cfn[]>();
    for (const [, template] of all) {
      const roles = template.findResources('AWS::IAM::Role') as Record<string, Cfn>;
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Cfn[]) {
        for (const ref of asArray<Cfn>(policy.Properties.Roles)) {
          const name = String(roles[ref.Ref]?.Properties.Description ?? render(ref));
          found.set(name, [
            ...(found.get(name) ?? []),
            ...(policy.Properties.PolicyDocument.Statement as Cfn[]),
          ]);
        }
      }
    }
    return found;
  };
  const holders = (test: (action: string, resource: string) => boolean) =>
    [...byRole()]
      .filter(([, statements]) =>
        statements.some(
          (st) =>
            st.Effect === 'Allow' &&
            asArray<string>(st.Action).some((a) => asArray(st.Resource).some((r) => test(a, render(r)))),
        ),
      )
      .map(([name]) => name)
      .sort();

  it('lets only the data plane and the batch worker invoke models', () => {
    expect(holders((action) => action.startsWith('sagemaker:Invoke'))).toEqual(
      [
        `Tollgate ${stage} API, data plane: /v1 (models, quotas, metering)`,
        `Tollgate ${stage} batch worker`,
      ].sort(),
    );
  });

  it('lets only the batch plane and the batch worker touch batch files, and only the plane delete them', () => {
    const bucket = `tollgate-${stage}-batch-files-`;
    const plane = `Tollgate ${stage} API, batch plane: batch files and batches (S3, SQS)`;
    const worker = `Tollgate ${stage} batch worker`;
    expect(holders((action, resource) => action.startsWith('s3:') && resource.includes(bucket))).toEqual(
      [plane, worker].sort(),
    );
    expect(holders((action, resource) => action === 's3:DeleteObject' && resource.includes(bucket))).toEqual([
      plane,
    ]);
    // Enqueuing batch work: the plane and the worker (it re-enqueues), no one else.
    expect(holders((action, resource) => action === 'sqs:SendMessage' && /BatchWork/.test(resource))).toEqual(
      [plane, worker].sort(),
    );
    expect(
      holders((action, resource) => action === 'sqs:ReceiveMessage' && /BatchWork/.test(resource)),
    ).toEqual([worker]);
  });
});
