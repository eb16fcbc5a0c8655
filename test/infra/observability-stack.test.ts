import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { componentAlarmNames, versionKey } from '../../infra/model-endpoints';
import { componentMetricsNamespace } from '../../infra/stacks/observability-stack';
import { buildApp } from '../../infra/tollgate';
import { inferenceComponentName } from '../../shared/catalog/deployment';
import { seedCatalog } from '../../shared/catalog/seed';
import {
  dimension,
  metricDefinitions,
  metricServices,
  metricsNamespace,
} from '../../shared/observability/metrics';
import { type Cfn, onlyResource, render, templates, testEnv } from './helpers';

/** The dashboard body as JSON, references rendered as `${...}` text. */
function dashboardBody(template: Template): Cfn {
  const [, dashboard] = onlyResource(template, 'AWS::CloudWatch::Dashboard');
  return JSON.parse(render(dashboard.Properties.DashboardBody));
}

/** Every metric line of every graph: [namespace, name, {dimension: value}, options]. */
function metricLines(body: Cfn) {
  return (body.widgets as Cfn[])
    .filter((w) => w.type === 'metric')
    .flatMap((w) =>
      (w.properties.metrics as Cfn[]).map((line) => ({ widget: w.properties.title as string, line })),
    )
    .map(({ widget, line }) => {
      const options = typeof line.at(-1) === 'object' ? line.at(-1) : {};
      const parts = typeof line.at(-1) === 'object' ? line.slice(0, -1) : line;
      if (parts.length === 0) return { widget, namespace: undefined, name: undefined, dims: {}, options };
      const [namespace, name, ...rest] = parts as string[];
      const dims: Record<string, string> = {};
      for (let i = 0; i < rest.length; i += 2) dims[rest[i]!] = rest[i + 1]!;
      return { widget, namespace, name, dims, options };
    });
}

const alarmsOf = (template: Template): Record<string, Cfn> =>
  Object.fromEntries(
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a: Cfn) => [
      a.Properties.AlarmName,
      a,
    ]),
  );

describe.each(stages)('observability stack (%s)', (stage) => {
  const config = stageConfig(stage);
  const { observability: template, stacks } = templates(stage);
  const seed = seedCatalog(stage);
  const alarms = alarmsOf(template);
  const [topicId, topic] = onlyResource(template, 'AWS::SNS::Topic');
  const prefix = `tollgate-${stage}-`;

  it('sends every alarm, and its recovery, to one encrypted topic', () => {
    expect(Object.keys(alarms).length).toBeGreaterThan(0);
    for (const [name, alarm] of Object.entries(alarms)) {
      expect(name.startsWith(prefix)).toBe(true);
      expect(alarm.Properties.AlarmActions, name).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions, name).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.TreatMissingData, name).toBe('notBreaching');
      expect(alarm.Properties.AlarmDescription, name).toBeTruthy();
    }
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const [, key] = onlyResource(template, 'AWS::KMS::Key');
    expect(template.toJSON().Resources[keyId]).toBe(key);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    // CloudWatch of this account may use the key and publish; nobody may publish without TLS.
    const keyStatements = key.Properties.KeyPolicy.Statement as Cfn[];
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'aws:SourceAccount': testEnv.account } },
      }),
    );
    const [, topicPolicy] = onlyResource(template, 'AWS::SNS::TopicPolicy');
    const statements = topicPolicy.Properties.PolicyDocument.Statement as Cfn[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const publish = statements.find((s) => s.Effect === 'Allow');
    expect(publish).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Condition: { StringEquals: { 'aws:SourceAccount': testEnv.account } },
    });
    expect(render(publish.Condition.ArnLike['aws:SourceArn'])).toBe(
      `arn:aws:cloudwatch:${testEnv.region}:${testEnv.account}:alarm:*`,
    );
  });

  it("alarms on the API's 5xx rate, guarded by a minimum request count", () => {
    const alarm = alarms[`${prefix}Api5xxRate`];
    expect(alarm.Properties).toMatchObject({
      Threshold: config.observability.apiErrorRatePercent,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
    const queries = alarm.Properties.Metrics as Cfn[];
    const expression = queries.find((q) => q.Expression)!;
    expect(expression.Expression).toBe(
      `IF(total >= ${config.observability.minRequestsForRate}, 100 * errors / total, 0)`,
    );
    const byId: Record<string, Cfn> = Object.fromEntries(
      queries.filter((q) => q.MetricStat).map((q) => [q.Id, q.MetricStat]),
    );
    expect(byId.errors.Metric).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5xx' });
    expect(byId.total.Metric).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: 'Count' });
    for (const stat of Object.values(byId)) {
      expect(stat.Stat).toBe('Sum');
      expect(render(stat.Metric.Dimensions[0].Value)).toMatch(/^\$\{import:Tollgate-\w+-Api:/);
    }
  });

  it.each(['Data', 'Stream', 'Console', 'Billing', 'Docs'])(
    'alarms on any crash of the API %s function',
    (id) => {
      const alarm = alarms[`${prefix}Api${id}FunctionErrors`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Threshold: 1,
      });
      expect(render(alarm.Properties.Dimensions[0].Value)).toContain(`Api${id}Function`);
    },
  );

  it.each(['Data', 'Stream', 'Console', 'Billing', 'Docs'])(
    'alarms when Lambda throttles the API %s function (at its reserved concurrency)',
    (id) => {
      const alarm = alarms[`${prefix}Api${id}Throttles`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Statistic: 'Sum',
        Threshold: 1,
      });
      expect(render(alarm.Properties.Dimensions[0].Value)).toContain(`Api${id}Function`);
    },
  );

  it.each(['Sweeper', 'BillingSync', 'UsageConsumer'])('alarms when Lambda throttles the %s job', (id) => {
    const alarm = alarms[`${prefix}${id}Throttles`];
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Threshold: 1,
    });
  });

  it("alarms on the streaming Function URL's 5xx rate (outside API Gateway's metrics)", () => {
    const alarm = alarms[`${prefix}StreamUrl5xxRate`];
    expect(alarm.Properties).toMatchObject({
      Threshold: config.observability.apiErrorRatePercent,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
    const stats = (alarm.Properties.Metrics as Cfn[]).filter((q) => q.MetricStat).map((q) => q.MetricStat);
    expect(stats.map((m) => m.Metric.MetricName).sort()).toEqual(['Url5xxCount', 'UrlRequestCount']);
    for (const m of stats) {
      expect(m.Metric.Namespace).toBe('AWS/Lambda');
      expect(render(m.Metric.Dimensions[0].Value)).toContain('ApiStreamFunction');
    }
  });

  it.each(['main', 'usage'])(
    'alarms on DynamoDB throttles and transaction conflicts of the %s table',
    (id) => {
      const table = `tollgate-${stage}-${id}`;
      const title = `Table${id.charAt(0).toUpperCase()}${id.slice(1)}`;
      const throttles = alarms[`${prefix}${title}Throttles`];
      const stats = (throttles.Properties.Metrics as Cfn[])
        .filter((q) => q.MetricStat)
        .map((q) => q.MetricStat);
      expect(stats.length).toBeGreaterThanOrEqual(5);
      for (const m of stats) {
        expect(m.Metric).toMatchObject({ Namespace: 'AWS/DynamoDB', MetricName: 'ThrottledRequests' });
        expect(m.Metric.Dimensions).toContainEqual({ Name: 'TableName', Value: table });
      }
      expect(stats.map((m) => m.Metric.Dimensions.find((d: Cfn) => d.Name === 'Operation').Value)).toEqual(
        expect.arrayContaining(['PutItem', 'UpdateItem', 'TransactWriteItems', 'Query', 'GetItem']),
      );
      expect(throttles.Properties.Threshold).toBe(1);
      const conflicts = alarms[`${prefix}${title}TransactionConflicts`];
      expect(conflicts.Properties).toMatchObject({
        Namespace: 'AWS/DynamoDB',
        MetricName: 'TransactionConflict',
        Statistic: 'Sum',
        Threshold: config.observability.transactionConflictsPerPeriod,
        Dimensions: [{ Name: 'TableName', Value: table }],
      });
    },
  );

  it.each(seed.versions.map((v) => [versionKey(v), v] as const))(
    '%s: alarms on its copies running out of what they reserved (CPU, memory, and GPU on a GPU)',
    (key, v) => {
      const dims = [{ Name: 'InferenceComponentName', Value: inferenceComponentName(v) }];
      const busy = config.observability.endpointUtilizationPercent;
      const plan = stacks.endpoints.flatMap((e) => e.components).find((x) => x.key === key)!;
      const gpu = (plan.deployment.resources.acceleratorDevices ?? 0) > 0;
      const expected: [string, string][] = [
        ['Cpu', 'CPUUtilizationNormalized'],
        ['Memory', 'CPUMemoryUtilizationNormalized'],
        ...(gpu
          ? ([
              ['Gpu', 'GPUUtilizationNormalized'],
              ['GpuMemory', 'GPUMemoryUtilizationNormalized'],
            ] as [string, string][])
          : []),
      ];
      for (const [suffix, metricName] of expected) {
        const alarm = alarms[`${prefix}${inferenceComponentName(v)}-${suffix}`];
        expect(alarm, suffix).toBeDefined();
        // Normalized to the copy's reservation: 0 to 100 whatever the instance size.
        expect(alarm.Properties).toMatchObject({
          Namespace: componentMetricsNamespace,
          MetricName: metricName,
          Statistic: 'Average',
          Threshold: busy,
          Dimensions: dims,
        });
      }
      if (!gpu) expect(alarms[`${prefix}${inferenceComponentName(v)}-Gpu`]).toBeUndefined();
    },
  );

  it.each(seed.versions.map((v) => [versionKey(v), v] as const))(
    '%s: alarms on its inference component latency (against its own budget) and 5xx rate, by the names its rollback names',
    (_key, v) => {
      const dims = [{ Name: 'InferenceComponentName', Value: inferenceComponentName(v) }];
      const names = componentAlarmNames(stage, inferenceComponentName(v));
      const latency = alarms[names.latency];
      const budgetMs = v.limits.timeoutMs ?? config.modelTimeoutMs;
      expect(latency.Properties).toMatchObject({
        Namespace: 'AWS/SageMaker',
        MetricName: 'ModelLatency',
        ExtendedStatistic: 'p90',
        // ModelLatency is reported in microseconds.
        Threshold: Math.round(budgetMs * config.observability.latencyShareOfTimeout) * 1000,
        Dimensions: dims,
      });

      const errors = alarms[names.errorRate];
      expect(errors.Properties.Threshold).toBe(config.observability.endpointErrorRatePercent);
      const stats = (errors.Properties.Metrics as Cfn[])
        .filter((q) => q.MetricStat)
        .map((q) => q.MetricStat.Metric);
      expect(stats.map((m) => m.MetricName).sort()).toEqual(['Invocation5XXErrors', 'Invocations']);
      for (const m of stats) expect(m.Dimensions).toEqual(dims);
    },
  );

  it.each(seed.versions.map((v) => [versionKey(v), v] as const))(
    '%s: alarms on cold calls (refused for want of a copy): at once for an always-on version, after three periods for a preview',
    (_key, v) => {
      const cold = alarms[componentAlarmNames(stage, inferenceComponentName(v)).cold];
      expect(cold.Properties).toMatchObject({
        Namespace: 'AWS/SageMaker',
        MetricName: 'NoCapacityInvocationFailures',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: v.status === 'preview' ? 3 : 1,
        Dimensions: [{ Name: 'InferenceComponentName', Value: inferenceComponentName(v) }],
      });
      expect(cold.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    },
  );

  it('alarms on the billing sync lag (BillingSyncLagMinutes, from the job)', () => {
    expect(alarms[`${prefix}BillingSyncLag`].Properties).toMatchObject({
      Namespace: metricsNamespace,
      MetricName: 'BillingSyncLagMinutes',
      Statistic: 'Maximum',
      Threshold: config.observability.billingSyncLagMinutes,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: expect.arrayContaining([
        { Name: dimension.service, Value: 'billing-sync' },
        { Name: dimension.stage, Value: stage },
      ]),
    });
  });

  it('has the billing sync failure alarm waiting for the job (quiet without data)', () => {
    expect(alarms[`${prefix}BillingSyncFailures`].Properties).toMatchObject({
      Namespace: metricsNamespace,
      MetricName: 'BillingSyncFailures',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      Dimensions: expect.arrayContaining([
        { Name: dimension.service, Value: 'billing-sync' },
        { Name: dimension.stage, Value: stage },
      ]),
    });
    // The hook for the job's own function, once it exists.
    expect(typeof stacks.observability.alarmOnFunctionErrors).toBe('function');
  });

  it('graphs requests, latency and usage per model version, errors and refusals by code', () => {
    const body = dashboardBody(template);
    const lines = metricLines(body);
    const custom = lines.filter((l) => l.namespace === metricsNamespace);
    for (const v of seed.versions) {
      const key = versionKey(v);
      for (const name of ['Requests', 'Latency'] as const) {
        expect(
          custom.some((l) => l.name === name && l.dims[dimension.modelVersion] === key),
          `${name} ${key}`,
        ).toBe(true);
      }
      for (const unit of seed.models.find((m) => m.name === v.model)!.units) {
        expect(
          custom.some((l) => l.name === 'Units' && l.dims.ModelVersion === key && l.dims.Unit === unit),
          `Units ${key} ${unit}`,
        ).toBe(true);
      }
    }
    // Each custom metric is graphed with exactly the dimension set it is emitted with.
    for (const l of custom) {
      const definition = metricDefinitions[l.name as keyof typeof metricDefinitions];
      expect(Object.keys(l.dims).sort(), l.name).toEqual([...definition.dimensions].sort());
      expect(l.dims[dimension.stage]).toBe(stage);
      // The `service` the handlers' sinks stamp on every record (functions/api/lambda.ts, billing-sync).
      expect(Object.values(metricServices)).toContain(l.dims[dimension.service]);
    }
    const expressions = lines.map((l) => l.options.expression).filter(Boolean) as string[];
    for (const name of ['Errors', 'Refusals']) {
      expect(expressions).toContainEqual(
        `SEARCH('{${metricsNamespace},${metricDefinitions[name as 'Errors'].dimensions.join(',')}} MetricName="${name}" Stage="${stage}"', 'Sum', ${config.observability.periodMinutes * 60})`,
      );
    }
    const alarmWidget = (body.widgets as Cfn[]).find((w) => w.type === 'alarm');
    expect(alarmWidget.properties.alarms).toHaveLength(Object.keys(alarms).length);
  });

  describe('batch', () => {
    const { data } = templates(stage);
    const [deadId] = onlyResource(data, 'AWS::SQS::Queue', {
      QueueName: `tollgate-${stage}-batch-dead-letters`,
    });
    const [workId] = onlyResource(data, 'AWS::SQS::Queue', { QueueName: `tollgate-${stage}-batch-work` });
    /** The Data stack's resource (and attribute) behind an `Fn::ImportValue`. */
    const imported = (value: Cfn): string => {
      const name = /^\$\{import:([^}]+)\}$/.exec(render(value))?.[1];
      const output = Object.values(data.findOutputs('*')).find((o: Cfn) => o.Export.Name === name) as Cfn;
      return output ? (output.Value['Fn::GetAtt'] ?? [output.Value.Ref]).join('.') : render(value);
    };

    it('alarms as soon as a chunk is in the batch dead-letter queue, not on the work queue', () => {
      const alarm = alarms[`${prefix}BatchDeadLetters`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        AlarmActions: [{ Ref: topicId }],
      });
      expect(alarm.Properties.Dimensions).toHaveLength(1);
      expect(alarm.Properties.Dimensions[0].Name).toBe('QueueName');
      expect(imported(alarm.Properties.Dimensions[0].Value)).toBe(`${deadId}.QueueName`);
      expect(imported(alarm.Properties.Dimensions[0].Value)).not.toContain(workId);
    });

    it("alarms on the worker's crashes and throttles, and the batch plane's like every API function", () => {
      for (const name of [
        'BatchWorkerErrors',
        'BatchWorkerThrottles',
        'ApiBatchFunctionErrors',
        'ApiBatchThrottles',
      ]) {
        expect(alarms[`${prefix}${name}`], name).toBeDefined();
      }
      expect(alarms[`${prefix}BatchWorkerThrottles`].Properties.AlarmDescription).toContain(
        String(config.concurrency.batchWorker),
      );
      expect(render(alarms[`${prefix}BatchWorkerErrors`].Properties.Dimensions[0].Value)).toMatch(
        /Jobs:ExportsOutput\w*BatchWorkerFunction/,
      );
    });
  });

  it('graphs the batch backlog, its oldest chunk, the dead letters and the worker on the dashboard', () => {
    const lines = metricLines(dashboardBody(template));
    const sqs = (name: string, queue: RegExp) =>
      lines.filter((l) => l.namespace === 'AWS/SQS' && l.name === name && queue.test(l.dims.QueueName ?? ''));
    expect(sqs('ApproximateNumberOfMessagesVisible', /BatchWork/)).toHaveLength(1);
    expect(sqs('ApproximateNumberOfMessagesNotVisible', /BatchWork/)).toHaveLength(1);
    expect(sqs('ApproximateAgeOfOldestMessage', /BatchWork/)).toHaveLength(1);
    expect(sqs('ApproximateNumberOfMessagesVisible', /BatchDeadLetters/)).toHaveLength(1);
    const worker = lines.filter(
      (l) => l.namespace === 'AWS/Lambda' && /BatchWorkerFunction/.test(l.dims.FunctionName ?? ''),
    );
    expect(worker.map((l) => l.name).sort()).toEqual(['ConcurrentExecutions', 'Errors']);
  });

  describe('the usage consumer', () => {
    const jobsExport = (value: Cfn, resource: string) =>
      new RegExp(`^\\$\\{import:Tollgate-\\w+-Jobs:ExportsOutput\\w*${resource}\\w*\\}$`).test(render(value));

    it('alarms when its iterator age stays above a minute for 5 minutes', () => {
      const alarm = alarms[`${prefix}UsageConsumerIteratorAge`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Period: 60,
        // Milliseconds.
        Threshold: 60_000,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
      });
      expect(alarm.Properties.Dimensions).toHaveLength(1);
      expect(alarm.Properties.Dimensions[0].Name).toBe('FunctionName');
      expect(jobsExport(alarm.Properties.Dimensions[0].Value, 'UsageConsumerFunction')).toBe(true);
    });

    it('alarms on any error of its function', () => {
      const alarm = alarms[`${prefix}UsageConsumerErrors`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(jobsExport(alarm.Properties.Dimensions[0].Value, 'UsageConsumerFunction')).toBe(true);
    });

    it('alarms as soon as a discarded batch is in its on-failure queue', () => {
      const alarm = alarms[`${prefix}UsageConsumerDeadLetters`];
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
      expect(alarm.Properties.Dimensions[0].Name).toBe('QueueName');
      expect(jobsExport(alarm.Properties.Dimensions[0].Value, 'UsageConsumerFailures')).toBe(true);
      // Not the scheduled jobs' dead-letter queue: that one's messages are not to be replayed.
      expect(render(alarm.Properties.Dimensions[0].Value)).not.toContain('JobDeadLetters');
    });

    it('graphs its iterator age, errors and discarded batches on the dashboard', () => {
      const lines = metricLines(dashboardBody(template));
      const age = lines.filter((l) => l.namespace === 'AWS/Lambda' && l.name === 'IteratorAge');
      expect(age).toHaveLength(1);
      expect(age[0]!.options).toMatchObject({ stat: 'Maximum', period: 60 });
      expect(age[0]!.dims.FunctionName).toMatch(/UsageConsumerFunction/);
      const errors = lines.filter(
        (l) =>
          l.namespace === 'AWS/Lambda' &&
          l.name === 'Errors' &&
          /UsageConsumerFunction/.test(l.dims.FunctionName ?? ''),
      );
      expect(errors).toHaveLength(1);
      const queued = lines.filter(
        (l) => l.namespace === 'AWS/SQS' && /UsageConsumerFailures/.test(l.dims.QueueName ?? ''),
      );
      expect(queued).toHaveLength(1);
    });
  });

  it('graphs each inference component from SageMaker metrics', () => {
    const lines = metricLines(dashboardBody(template));
    for (const v of seed.versions) {
      for (const [namespace, name] of [
        ['AWS/SageMaker', 'Invocations'],
        ['AWS/SageMaker', 'Invocation5XXErrors'],
        ['AWS/SageMaker', 'NoCapacityInvocationFailures'],
        ['AWS/SageMaker', 'ModelLatency'],
        [componentMetricsNamespace, 'CPUUtilizationNormalized'],
      ]) {
        expect(
          lines.some(
            (l) =>
              l.namespace === namespace &&
              l.name === name &&
              l.dims.InferenceComponentName === inferenceComponentName(v),
          ),
          `${name} ${versionKey(v)}`,
        ).toBe(true);
      }
    }
  });
});

describe('observability without model endpoints, and with an alarm address', () => {
  const { observability, models } = buildApp('dev', {
    ...testEnv,
    bundling: false,
    overrides: { alarmEmail: 'oncall@example.com' },
  });
  const template = Template.fromStack(observability);

  it('watches no endpoints that dev did not deploy', () => {
    expect(models).toBeUndefined();
    const names = Object.keys(alarmsOf(template));
    expect(names.sort()).toEqual(
      [
        'tollgate-dev-Api5xxRate',
        'tollgate-dev-ApiDataFunctionErrors',
        'tollgate-dev-ApiStreamFunctionErrors',
        'tollgate-dev-ApiConsoleFunctionErrors',
        'tollgate-dev-ApiBillingFunctionErrors',
        'tollgate-dev-ApiDocsFunctionErrors',
        'tollgate-dev-BillingSyncFailures',
        'tollgate-dev-BillingSyncErrors',
        'tollgate-dev-BillingSyncLag',
        'tollgate-dev-JobsDeadLetters',
        'tollgate-dev-UsageConsumerIteratorAge',
        'tollgate-dev-UsageConsumerErrors',
        'tollgate-dev-UsageConsumerDeadLetters',
        'tollgate-dev-ApiBatchFunctionErrors',
        'tollgate-dev-BatchDeadLetters',
        'tollgate-dev-BatchWorkerErrors',
        'tollgate-dev-BatchWorkerThrottles',
        ...['Data', 'Stream', 'Console', 'Billing', 'Docs', 'Batch'].map(
          (f) => `tollgate-dev-Api${f}Throttles`,
        ),
        'tollgate-dev-StreamUrl5xxRate',
        'tollgate-dev-SweeperThrottles',
        'tollgate-dev-BillingSyncThrottles',
        'tollgate-dev-UsageConsumerThrottles',
        'tollgate-dev-TableMainThrottles',
        'tollgate-dev-TableMainTransactionConflicts',
        'tollgate-dev-TableUsageThrottles',
        'tollgate-dev-TableUsageTransactionConflicts',
      ].sort(),
    );
    const sagemaker = metricLines(dashboardBody(template)).filter((l) => l.namespace === 'AWS/SageMaker');
    expect(sagemaker).toEqual([]);
    expect(names.filter((n) => /-(Cpu|Memory)$/.test(n))).toEqual([]);
  });

  it('mails the alarm topic to the configured address', () => {
    const [topicId] = onlyResource(template, 'AWS::SNS::Topic');
    const [, subscription] = onlyResource(template, 'AWS::SNS::Subscription');
    expect(subscription.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topicId },
    });
  });

  it('subscribes nobody when no address is configured', () => {
    const { observability: template } = templates('prod');
    expect(stageConfig('prod').observability.alarmEmail).toBeUndefined();
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });
});
