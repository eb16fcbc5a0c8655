import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { apiTableActions } from '../../infra/stacks/api-stack';
import { billingSyncEntry, sweeperTableActions } from '../../infra/stacks/jobs-stack';
import { asArray, type Cfn, render, templates } from './helpers';

describe.each(stages)('jobs stack (%s)', (stage) => {
  const { jobs } = templates(stage);
  const functions = Object.entries(jobs.findResources('AWS::Lambda::Function')) as [string, Cfn][];
  const named = (name: string) =>
    functions.find(([, f]) => f.Properties.FunctionName === `tollgate-${stage}-${name}`)!;
  const rules = Object.values(jobs.findResources('AWS::Events::Rule')) as Cfn[];
  const ruleFor = (id: string) => rules.find((r) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === id);
  const roleOf = (fn: Cfn) => fn.Properties.Role['Fn::GetAtt'][0] as string;
  const statementsOf = (fn: Cfn) => {
    const role = roleOf(fn);
    const policies = Object.values(jobs.findResources('AWS::IAM::Policy')) as Cfn[];
    return policies
      .filter((p) => p.Properties.Roles.some((r: Cfn) => r.Ref === role))
      .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement) as Cfn[]);
  };

  it('runs the reservation sweeper once a minute', () => {
    expect(functions).toHaveLength(2);
    const [sweeperId, sweeper] = named('sweep-reservations');
    expect(sweeper.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(sweeper.Properties.Environment.Variables.STAGE).toBe(stage);
    const rule = ruleFor(sweeperId);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets).toHaveLength(1);
  });

  it('lets the sweeper only query, delete and update items of the main table and its index', () => {
    const [, sweeper] = named('sweep-reservations');
    const data = statementsOf(sweeper).filter((st) =>
      asArray(st.Action).some((a) => String(a).startsWith('dynamodb:')),
    );
    expect(data).toHaveLength(1);
    expect(asArray(data[0]!.Action).sort()).toEqual([...sweeperTableActions].sort());
    const resources = asArray(data[0]!.Resource).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    expect(resources.join(' ')).toContain('/index/gsi1');
    expect(resources.join(' ')).not.toContain('*');
  });

  it('runs the billing sync on its schedule, without retries (the next run carries on)', () => {
    const [billingId, billing] = named('billing-sync');
    const minutes = stageConfig(stage).billing.syncEveryMinutes;
    const rule = ruleFor(billingId);
    expect(rule.Properties.ScheduleExpression).toBe(
      `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
    );
    expect(rule.Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    expect(billing.Properties.Environment.Variables).toMatchObject({
      STAGE: stage,
      PAST_DUE_GRACE_DAYS: '7',
    });
    // Stripe's keys come from the Stripe secret at cold start, never as plain variables.
    expect(billing.Properties.Environment.Variables.TOLLGATE_SECRETS_ARN).toBeDefined();
    expect(billing.Properties.Environment.Variables.STRIPE_SECRET_KEY).toBeUndefined();
    expect(existsSync(billingSyncEntry)).toBe(true);
  });

  it("gives the billing sync the API's table access on both tables, and reading the Stripe secret alone", () => {
    const [, billing] = named('billing-sync');
    const statements = statementsOf(billing);
    const data = statements.filter((s) => s.Sid === 'BillingTableData');
    expect(data).toHaveLength(1);
    expect(asArray(data[0]!.Action).sort()).toEqual([...apiTableActions].sort());
    const resources = asArray(data[0]!.Resource).map(render);
    expect(resources).toHaveLength(4);
    expect(resources.filter((r) => r.endsWith('/index/gsi1'))).toHaveLength(2);
    const secret = statements.filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(secret).toHaveLength(1);
    expect(render(secret[0]!.Resource)).toContain('StripeSecrets');
    expect(render(secret[0]!.Resource)).not.toContain('PlatformSecrets');
  });

  it('sends runs that could not be delivered or crashed to an encrypted dead-letter queue, alarmed on', () => {
    const [queueId, queue] = Object.entries(jobs.findResources('AWS::SQS::Queue'))[0] as [string, Cfn];
    expect(Object.keys(jobs.findResources('AWS::SQS::Queue'))).toHaveLength(1);
    expect(queue.Properties).toMatchObject({
      QueueName: `tollgate-${stage}-job-dead-letters`,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const policy = Object.values(jobs.findResources('AWS::SQS::QueuePolicy'))[0] as Cfn;
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('aws:SecureTransport');
    for (const name of ['sweep-reservations', 'billing-sync']) {
      const [id, fn] = named(name);
      // EventBridge's delivery failures and the function's own asynchronous failures.
      expect(ruleFor(id).Properties.Targets[0].DeadLetterConfig.Arn).toEqual({
        'Fn::GetAtt': [queueId, 'Arn'],
      });
      expect(fn.Properties.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
      const send = statementsOf(fn).filter((st) => asArray(st.Action).includes('sqs:SendMessage'));
      expect(send.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
    }
    const { observability } = templates(stage);
    const alarm = Object.values(observability.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => (a as Cfn).Properties.AlarmName === `tollgate-${stage}-JobsDeadLetters`,
    ) as Cfn;
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
