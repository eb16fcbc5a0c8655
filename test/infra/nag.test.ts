import { App, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { buildApp } from '../../infra/tollgate';
import { allStacks, templates, testEnv } from './helpers';

/** Every acknowledgment in a construct tree: where, which rule, why. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  const visit = (node: IConstruct) => {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
    for (const child of node.node.children) visit(child);
  };
  visit(root);
  return found;
}

/**
 * The accepted findings, by construct path below the stack and rule. Adding one is a reviewed
 * change to this list; the reason lives next to the resource.
 */
const expected = (stage: string, endpoints: string[]) =>
  [
    // Only the data plane's role may invoke endpoints, by the stage's prefix.
    `Api/DataRole AwsSolutions-IAM5[Resource::arn:aws:sagemaker:us-east-1:123456789012:endpoint/tollgate-${stage}-*]`,
    'Api/HttpApi AwsSolutions-APIG4',
    // Active tracing: X-Ray's write actions take only `*`, on every function's role.
    ...['Api/DataRole', 'Api/ConsoleRole', 'Api/BillingRole', 'Api/DocsRole', 'Api/BatchRole'].map(
      (role) => `${role} AwsSolutions-IAM5[Resource::*]`,
    ),
    ...['Jobs/SweeperRole', 'Jobs/BillingSyncRole', 'Jobs/UsageConsumerRole', 'Jobs/BatchWorkerRole'].map(
      (role) => `${role} AwsSolutions-IAM5[Resource::*]`,
    ),
    // The batch plane and the worker: every object of the batch bucket (named, not `*` buckets).
    ...['Api/BatchRole', 'Jobs/BatchWorkerRole'].map(
      (role) =>
        `${role} AwsSolutions-IAM5[Resource::arn:aws:s3:::tollgate-${stage}-batch-files-123456789012-us-east-1/*]`,
    ),
    // The worker invokes the stage's endpoints, as the data plane does.
    `Jobs/BatchWorkerRole AwsSolutions-IAM5[Resource::arn:aws:sagemaker:us-east-1:123456789012:endpoint/tollgate-${stage}-*]`,
    // Batch files: every read, write and delete is the batch plane's or the worker's, and logged there.
    'Data/BatchFiles AwsSolutions-S1',
    // The batch work queue's dead-letter queue: a dead-letter queue itself.
    'Data/BatchDeadLetters AwsSolutions-SQS3',
    'Api/EdgeSecret AwsSolutions-SMG4',
    'Api/PlatformSecrets AwsSolutions-SMG4',
    'Api/StripeSecrets AwsSolutions-SMG4',
    'Console/AccessLogs AwsSolutions-S1',
    'Jobs/JobDeadLetters AwsSolutions-SQS3',
    // The usage consumer's on-failure destination: a dead-letter queue itself.
    'Jobs/UsageConsumerFailures AwsSolutions-SQS3',
    // No CloudFormation-Validate::W3045 any more: with @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy
    // the log bucket takes S3's access logs through its policy and sets no canned ACL; CloudFront's
    // legacy standard logging still needs ACLs enabled (object-writer ownership) and grants itself.
    'Console/Distribution AwsSolutions-CFR1',
    // A stage without a web ACL (dev); prod runs one (stageConfig(stage).waf).
    ...(stage === 'dev' ? ['Console/Distribution AwsSolutions-CFR2'] : []),
    // No custom domain in either stage's config: the default certificate's TLS floor.
    'Console/Distribution AwsSolutions-CFR4',
    // The console upload function's role (ours, so its CloudFront invalidation is scoped to the
    // distribution: no Resource::* any more), and CDK's function itself.
    ...[
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]',
      'AwsSolutions-IAM5[Resource::<ConsoleFiles82B82817.Arn>/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1/*]',
    ].map((id) => `Console/DeployRole ${id}`),
    'Console/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C AwsSolutions-L1',
    // Each endpoint's execution role: ecr:GetAuthorizationToken and cloudwatch:PutMetricData.
    ...endpoints.map((e) => `Models/${e}-ExecutionRole AwsSolutions-IAM5[Resource::*]`),
  ].sort();

describe('cdk-nag AwsSolutions on the cross-region WAF stack (prod outside us-east-1)', () => {
  // The web ACL of a Console stack outside us-east-1 lives in a us-east-1 stack of its own, with
  // CDK's cross-region reference machinery (an SSM writer there, a reader beside the Console).
  const stacks = buildApp('prod', {
    ...testEnv,
    region: 'eu-west-1',
    bundling: false,
    overrides: { models: false },
  });

  it.each([stacks.waf!, stacks.console].map((s) => [s.stackName, s] as const))(
    '%s has no unacknowledged finding',
    (_name, stack) => {
      expect(stack).toBeDefined();
      const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
      const findings = report.violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
      expect(findings).toEqual([]);
      expect(report.success).toBe(true);
    },
  );

  it('is nagged at synth like every other stack (the app-wide plugin reaches it)', () => {
    expect(stacks.waf!.region).toBe('us-east-1');
    expect(allStacks(stacks)).toContain(stacks.waf);
  });
});

describe.each(stages)('cdk-nag AwsSolutions (%s)', (stage) => {
  const { stacks } = templates(stage);

  it.each(allStacks(stacks).map((s) => [s.stackName, s] as const))(
    '%s has no unacknowledged finding',
    (_name, stack) => {
      const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
      const findings = report.violations.map(
        (v) =>
          `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
      );
      expect(findings).toEqual([]);
      expect(report.success).toBe(true);
    },
  );

  it('accepts only the reviewed findings, each with a specific reason', () => {
    const all = allStacks(stacks).flatMap((stack) =>
      acknowledgments(stack).map((a) => ({ ...a, path: a.path.replace(/^Tollgate-\w+-/, '') })),
    );
    const endpoints = stacks.endpoints.map((e) => e.endpointName);
    expect(all.map((a) => `${a.path} ${a.id}`).sort()).toEqual(expected(stage, endpoints));
    for (const a of all) {
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(80);
      expect(a.id).toMatch(/^AwsSolutions-/);
    }
  });

  it('finds what it should: an unacknowledged wildcard is reported', () => {
    const probe = new Stack(new App(), `NagProbe-${stage}`);
    const role = new Role(probe, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const report = new AwsSolutionsChecks().validateScope(probe);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-IAM5[Resource::*]');
  });

  it('as a synth plugin (`-c nag=true`), stops the synth on an unacknowledged finding', () => {
    const app = new App();
    const probe = new Stack(app, `NagPlugin-${stage}`);
    const role = new Role(probe, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });
});
