import { existsSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages, withOverrides } from '../../infra/config';
import { billingSyncEntry } from '../../infra/stacks/billing-stack';
import { buildApp } from '../../infra/tollgate';
import { type Cfn, onlyResource, policyStatements, render, templates, testEnv } from './helpers';

describe.each(stages)('billing stack (%s)', (stage) => {
  const config = stageConfig(stage);
  const { billing: template } = templates(stage);
  const [fnId, fn] = onlyResource(template, 'AWS::Lambda::Function');

  it('runs the billing job on a schedule, without retries (the next run carries on)', () => {
    const [, rule] = onlyResource(template, 'AWS::Events::Rule');
    const minutes = config.billing.syncEveryMinutes;
    expect(rule.Properties.ScheduleExpression).toBe(
      `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
    );
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      }),
    ]);
    expect(existsSync(billingSyncEntry)).toBe(true);
  });

  it('bills in the ledger only unless a Stripe secret is named', () => {
    expect(fn.Properties.Environment.Variables).toMatchObject({ STAGE: stage, PAST_DUE_GRACE_DAYS: '7' });
    expect(fn.Properties.Environment.Variables.STRIPE_SECRET_KEY).toBeUndefined();
  });

  it('may touch the two tables and their indexes, and nothing else', () => {
    const statements = policyStatements(template).filter((s: Cfn) => s.Sid === 'TableData');
    expect(statements).toHaveLength(1);
    const resources = (statements[0].Resource as Cfn[]).map(render);
    expect(resources).toHaveLength(4);
    for (const r of resources) expect(r).toMatch(/Table|index\/gsi1/);
  });
});

describe('billing through Stripe (`-c stripeSecret=`)', () => {
  const stacks = buildApp('dev', {
    ...testEnv,
    bundling: false,
    overrides: { stripeSecret: 'tollgate/dev/stripe' },
  });
  const ref = (field: string) => `{{resolve:secretsmanager:tollgate/dev/stripe:SecretString:${field}::}}`;

  it('gives the API and the job the keys as Secrets Manager references, resolved at deploy time', () => {
    for (const stack of [stacks.api, stacks.billing]) {
      const [, fn] = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function');
      expect(fn.Properties.Environment.Variables).toMatchObject({
        STRIPE_SECRET_KEY: ref('secret_key'),
        STRIPE_WEBHOOK_SECRET: ref('webhook_secret'),
      });
    }
  });

  it('refuses a name Secrets Manager would not take', () => {
    expect(() => withOverrides(stageConfig('dev'), { stripeSecret: 'bad name!' })).toThrow(
      /stripeSecretName/,
    );
  });
});
