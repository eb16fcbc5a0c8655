import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { sweeperTableActions } from '../../infra/stacks/jobs-stack';
import { asArray, onlyResource, policyStatements, templates } from './helpers';

describe.each(stages)('jobs stack (%s)', (stage) => {
  const { jobs } = templates(stage);
  const [sweeperId, sweeper] = onlyResource(jobs, 'AWS::Lambda::Function');

  it('runs the reservation sweeper once a minute', () => {
    expect(sweeper.Properties).toMatchObject({
      FunctionName: `tollgate-${stage}-sweep-reservations`,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
    expect(sweeper.Properties.Environment.Variables.STAGE).toBe(stage);
    const [, rule] = onlyResource(jobs, 'AWS::Events::Rule');
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [sweeperId, 'Arn'] });
  });

  it('may only query, delete and update items of the main table and its index', () => {
    const data = policyStatements(jobs).filter((st) =>
      asArray(st.Action).some((a) => String(a).startsWith('dynamodb:')),
    );
    expect(data).toHaveLength(1);
    expect(asArray(data[0]!.Action).sort()).toEqual([...sweeperTableActions].sort());
    const resources = asArray(data[0]!.Resource).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    expect(resources.join(' ')).toContain('/index/gsi1');
    expect(resources.join(' ')).not.toContain('*');
  });
});
