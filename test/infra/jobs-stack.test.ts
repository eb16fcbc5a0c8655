import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { apiTableActions, batchWorkerObjectActions } from '../../infra/stacks/api-stack';
import {
  batchMaxReceiveCount,
  batchVisibilityTimeoutFactor,
  batchWorkerTimeout,
} from '../../infra/stacks/data-stack';
import {
  batchWorkerEntry,
  batchWorkerLanes,
  batchWorkerMapping,
  batchWorkerModelActions,
  billingSyncConcurrency,
  billingSyncEntry,
  consumerAggregateActions,
  consumerCheckpointActions,
  consumerCheckpointPartition,
  keyBudgetMainActions,
  keyBudgetMainPartitions,
  keyBudgetUsageActions,
  sweeperTableActions,
  sweeperUsageActions,
  usageConsumerEntry,
} from '../../infra/stacks/jobs-stack';
import { keys } from '../../shared/db/keys';
import { asArray, type Cfn, onlyResource, render, templates } from './helpers';

describe.each(stages)('jobs stack (%s)', (stage) => {
  const { jobs } = templates(stage);
  const functions = Object.entries(jobs.findResources('AWS::Lambda::Function')) as [string, Cfn][];
  const named = (name: string) =>
    functions.find(([, f]) => f.Properties.FunctionName === `tollgate-${stage}-${name}`)!;
  const rules = Object.values(jobs.findResources('AWS::Events::Rule')) as Cfn[];
  const ruleFor = (id: string) => rules.find((r) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === id);
  const roleOf = (fn: Cfn) => fn.Properties.Role['Fn::GetAtt'][0] as string;
  const queueNamed = (name: string) =>
    onlyResource(jobs, 'AWS::SQS::Queue', { QueueName: `tollgate-${stage}-${name}` });
  const queuePolicyOf = (queueId: string) =>
    (Object.values(jobs.findResources('AWS::SQS::QueuePolicy')) as Cfn[]).filter((p) =>
      p.Properties.Queues.some((q: Cfn) => q.Ref === queueId),
    );
  const statementsOf = (fn: Cfn) => {
    const role = roleOf(fn);
    const policies = Object.values(jobs.findResources('AWS::IAM::Policy')) as Cfn[];
    return policies
      .filter((p) => p.Properties.Roles.some((r: Cfn) => r.Ref === role))
      .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement) as Cfn[]);
  };

  it('traces every job (X-Ray, active)', () => {
    expect(functions.map(([, f]) => f.Properties.FunctionName).sort()).toEqual(
      ['batch-worker', 'billing-sync', 'sweep-reservations', 'usage-consumer'].map(
        (n) => `tollgate-${stage}-${n}`,
      ),
    );
    for (const [, f] of functions) {
      expect(f.Properties.TracingConfig, f.Properties.FunctionName).toEqual({ Mode: 'Active' });
    }
  });

  it('runs the reservation sweeper once a minute', () => {
    expect(functions).toHaveLength(4);
    const [sweeperId, sweeper] = named('sweep-reservations');
    expect(sweeper.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(sweeper.Properties.Environment.Variables.STAGE).toBe(stage);
    const rule = ruleFor(sweeperId);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets).toHaveLength(1);
  });

  it('lets the sweeper only query, delete and update items of the main table, and read and close usage records', () => {
    const [, sweeper] = named('sweep-reservations');
    const data = statementsOf(sweeper).filter((st) =>
      asArray(st.Action).some((a) => String(a).startsWith('dynamodb:')),
    );
    expect(data).toHaveLength(2);
    const [reservations, usage] = [
      data.find((d) => d.Sid === 'Reservations')!,
      data.find((d) => d.Sid === 'UsageRecords')!,
    ];
    expect(asArray(reservations.Action).sort()).toEqual([...sweeperTableActions].sort());
    expect(asArray(usage.Action).sort()).toEqual([...sweeperUsageActions].sort());
    expect(asArray(usage.Action)).not.toContain('dynamodb:DeleteItem');
    expect(asArray(usage.Action)).not.toContain('dynamodb:PutItem');
    for (const st of [reservations, usage]) {
      const resources = asArray(st.Resource).map((r) => JSON.stringify(r));
      expect(resources).toHaveLength(2);
      expect(resources.join(' ')).toContain('/index/gsi1');
      expect(resources.join(' ')).not.toContain('*');
    }
    expect(JSON.stringify(usage.Resource)).toMatch(/Usage|usage/);
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

  it('runs one billing sync at a time (reserved concurrency 1), each over before the next is due', () => {
    const [, billing] = named('billing-sync');
    expect(billingSyncConcurrency).toBe(1);
    expect(billing.Properties.ReservedConcurrentExecutions).toBe(1);
    // The other jobs are not capped this way: the sweeper and the consumer reserve nothing.
    expect(named('sweep-reservations')[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(named('usage-consumer')[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
    const minutes = stageConfig(stage).billing.syncEveryMinutes;
    expect(billing.Properties.Timeout).toBe(Math.min(5, minutes) * 60);
    expect(billing.Properties.Timeout).toBeLessThanOrEqual(minutes * 60);
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
    const [queueId, queue] = queueNamed('job-dead-letters');
    // This one and the usage consumer's on-failure queue.
    expect(Object.keys(jobs.findResources('AWS::SQS::Queue'))).toHaveLength(2);
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const [policy] = queuePolicyOf(queueId);
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

  describe('the usage consumer', () => {
    const [consumerId, consumer] = named('usage-consumer');
    const mappings = (Object.values(jobs.findResources('AWS::Lambda::EventSourceMapping')) as Cfn[]).filter(
      (m) => m.Properties.FunctionName.Ref === consumerId,
    );
    const [failuresId, failures] = queueNamed('usage-consumer-failures');
    const { data } = templates(stage);
    const [usageId] = onlyResource(data, 'AWS::DynamoDB::GlobalTable', {
      TableName: `tollgate-${stage}-usage`,
    });
    const [mainId] = onlyResource(data, 'AWS::DynamoDB::GlobalTable', {
      TableName: `tollgate-${stage}-main`,
    });
    /** Whether a value is the Data stack's export of a resource's attribute (`Fn::ImportValue`). */
    const exported = (value: Cfn, id: string, attribute: string) =>
      new RegExp(
        `^\\$\\{import:Tollgate-\\w+-Data:ExportsOutputFnGetAtt${id}${attribute}[0-9A-F]{8}\\}$`,
      ).test(render(value));

    it('runs on Node 24, arm64, 512 MB and 60 s, bundled from its own entry, with no secrets', () => {
      expect(existsSync(usageConsumerEntry)).toBe(true);
      expect(consumer.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Timeout: 60,
        Handler: 'index.handler',
      });
      const publicUrl = stageConfig(stage).publicUrl;
      expect(consumer.Properties.Environment.Variables).toEqual({
        STAGE: stage,
        LOG_LEVEL: stageConfig(stage).logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        ...(publicUrl ? { PUBLIC_URL: publicUrl } : {}),
      });
      // Invoked synchronously by its event source mapping only: no schedule, no async DLQ.
      expect(ruleFor(consumerId)).toBeUndefined();
      expect(consumer.Properties.DeadLetterConfig).toBeUndefined();
      const logs = consumer.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(jobs.toJSON().Resources[logs].Properties.RetentionInDays).toBe(
        stageConfig(stage).logRetentionDays,
      );
    });

    it("maps the usage table's stream onto it: whole batches, bisected, retried 10 times, one at a time per shard, in a tumbling window", () => {
      expect(mappings).toHaveLength(1);
      const mapping = mappings[0]!;
      expect(mapping.Properties.FunctionName).toEqual({ Ref: consumerId });
      expect(exported(mapping.Properties.EventSourceArn, usageId, 'StreamArn')).toBe(true);
      expect(mapping.Properties).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 500,
        MaximumBatchingWindowInSeconds: 1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 24 * 3600,
        ParallelizationFactor: 1,
        // Without a tumbling window Lambda passes no shardId, and the handler refuses the batch.
        TumblingWindowInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failuresId, 'Arn'] } } },
      });
      expect(mapping.Properties.BatchSize).toBeLessThanOrEqual(10_000);
      // The handler throws for the whole batch; a partial batch response would be misread.
      expect(mapping.Properties.FunctionResponseTypes).toBeUndefined();
      expect(mapping.Properties.Enabled).not.toBe(false);
    });

    it('sends discarded batches to its own encrypted, TLS-only queue, kept 14 days', () => {
      expect(failures.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      const policies = queuePolicyOf(failuresId);
      expect(policies).toHaveLength(1);
      expect(policies[0]!.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    });

    it('may read the stream, its checkpoints in main, update usage items, raise key budget alerts and send to its queue, and nothing else', () => {
      const statements = statementsOf(consumer);
      const dynamo = statements.filter((st) =>
        asArray(st.Action).some((a) => String(a).startsWith('dynamodb:')),
      );
      const on = (st: Cfn) => asArray(st.Resource).map((r) => render(r));

      // The checkpoints: GetItem and UpdateItem on the main table (no index), their partition only.
      const checkpoints = dynamo.filter((st) => st.Sid === 'ConsumerCheckpoints');
      expect(checkpoints).toHaveLength(1);
      expect(asArray(checkpoints[0]!.Action).sort()).toEqual([...consumerCheckpointActions].sort());
      expect(asArray(checkpoints[0]!.Action).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(on(checkpoints[0]!)).toHaveLength(1);
      expect(exported(checkpoints[0]!.Resource, mainId, 'Arn')).toBe(true);
      expect(checkpoints[0]!.Condition).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [consumerCheckpointPartition] },
      });
      // The partition the runtime code writes the checkpoints under.
      expect(keys.consumerCheckpoint('shardId-1').pk).toBe(consumerCheckpointPartition);
      expect(keys.consumerPartition()).toBe(consumerCheckpointPartition);

      // The aggregates: UpdateItem (the Updates of its transactions) on the usage table, no index.
      const aggregates = dynamo.filter((st) => st.Sid === 'UsageAggregates');
      expect(aggregates).toHaveLength(1);
      expect(asArray(aggregates[0]!.Action)).toEqual([...consumerAggregateActions]);
      expect(asArray(aggregates[0]!.Action)).toEqual(['dynamodb:UpdateItem']);
      expect(on(aggregates[0]!)).toHaveLength(1);
      expect(exported(aggregates[0]!.Resource, usageId, 'Arn')).toBe(true);

      // The key and project budget alerts: in main, read a key or a project and its members, its
      // tenant and team, and record an alert under tenants' partitions, queue its emails under the
      // email queue's; in usage, read a key's or a project's month.
      const budgets = dynamo.filter((st) => st.Sid === 'KeyBudgetAlerts');
      expect(budgets).toHaveLength(1);
      expect(asArray(budgets[0]!.Action).sort()).toEqual([...keyBudgetMainActions].sort());
      expect(asArray(budgets[0]!.Action)).not.toContain('dynamodb:UpdateItem');
      expect(on(budgets[0]!)).toHaveLength(1);
      expect(exported(budgets[0]!.Resource, mainId, 'Arn')).toBe(true);
      expect(budgets[0]!.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keyBudgetMainPartitions] },
      });
      // The partitions the runtime code reads and writes them under.
      for (const k of [
        keys.apiKey('ten_1', 'key_1'),
        keys.usageAlert('ten_1', '2026-01', 'key_spend#key_1', 50),
        keys.project('ten_1', 'proj_1'),
        keys.projectMember('ten_1', 'proj_1', 'usr_1'),
        keys.usageAlert('ten_1', '2026-01', 'project_spend#proj_1', 50),
        keys.member('ten_1', 'usr_1'),
        keys.tenant('ten_1'),
      ])
        expect(k.pk.startsWith('TENANT#')).toBe(true);
      expect(keys.queuedEmail('2026-01-01', 'eml_1').pk).toBe('EMAILQUEUE');
      const monthTotals = dynamo.filter((st) => st.Sid === 'KeyMonthTotals');
      expect(monthTotals).toHaveLength(1);
      expect(asArray(monthTotals[0]!.Action)).toEqual([...keyBudgetUsageActions]);
      expect(exported(monthTotals[0]!.Resource, usageId, 'Arn')).toBe(true);

      // The stream: read, on the usage table's stream ARN only.
      const ours = ['ConsumerCheckpoints', 'UsageAggregates', 'KeyBudgetAlerts', 'KeyMonthTotals'];
      const stream = dynamo.filter((st) => !ours.includes(st.Sid));
      expect(stream.flatMap((st) => asArray(st.Action)).sort()).toEqual([
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
      ]);
      for (const st of stream) {
        expect(on(st)).toHaveLength(1);
        expect(exported(st.Resource, usageId, 'StreamArn')).toBe(true);
      }

      // Everything else: its own log group and its own on-failure queue.
      const others = statements.filter((st) => !dynamo.includes(st));
      expect(others.flatMap((st) => asArray(st.Action)).sort()).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
      const send = others.find((st) => asArray(st.Action).includes('sqs:SendMessage'));
      expect(send.Resource).toEqual({ 'Fn::GetAtt': [failuresId, 'Arn'] });
      expect(others.every((st) => st.Effect === 'Allow')).toBe(true);
      // PutItem and Query only for the key budget alerts (checked above); no delete, scan or batch.
      expect(JSON.stringify(statements.filter((st) => st.Sid !== 'KeyBudgetAlerts'))).not.toMatch(
        /dynamodb:(PutItem|DeleteItem|Scan|Query|BatchWriteItem|ConditionCheckItem)/,
      );
      expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(DeleteItem|Scan|BatchWriteItem)/);
      expect(JSON.stringify(statements)).not.toContain('secretsmanager:');
    });
  });

  describe('the batch worker', () => {
    const config = stageConfig(stage);
    const [workerId, worker] = named('batch-worker');
    const { data } = templates(stage);
    const dataResources = data.toJSON().Resources as Record<string, Cfn>;
    const [bucketId, bucket] = onlyResource(data, 'AWS::S3::Bucket');
    const [queueId, queue] = onlyResource(data, 'AWS::SQS::Queue', {
      QueueName: `tollgate-${stage}-batch-work`,
    });
    const [deadId] = onlyResource(data, 'AWS::SQS::Queue', {
      QueueName: `tollgate-${stage}-batch-dead-letters`,
    });
    const tableIds = ['main', 'usage'].map(
      (t) => onlyResource(data, 'AWS::DynamoDB::GlobalTable', { TableName: `tollgate-${stage}-${t}` })[0],
    );
    /** The Data stack's resource behind an `Fn::ImportValue` (a Ref or a GetAtt), as `Id` or `Id.Attr`. */
    const imported = (value: Cfn): string => {
      const text = render(value);
      const match = /^\$\{import:([^}]+)\}(.*)$/.exec(text);
      if (!match) return text;
      const output = Object.values(data.findOutputs('*')).find((o: Cfn) => o.Export.Name === match[1]) as Cfn;
      const v = output.Value;
      return `${v.Ref ?? v['Fn::GetAtt'].join('.')}${match[2]}`;
    };
    const mapping = (Object.values(jobs.findResources('AWS::Lambda::EventSourceMapping')) as Cfn[]).find(
      (m) => m.Properties.FunctionName.Ref === workerId,
    );
    const statements = () => statementsOf(worker);
    const on = (prefix: string) => (s: Cfn) => asArray<string>(s.Action).some((a) => a.startsWith(prefix));

    it('runs from its own entry on Node 24, arm64, for 5 minutes, told the bucket and queue, with no secrets', () => {
      expect(existsSync(batchWorkerEntry)).toBe(true);
      expect(worker.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: 300,
        TracingConfig: { Mode: 'Active' },
      });
      expect(batchWorkerTimeout.toSeconds()).toBe(300);
      const vars = worker.Properties.Environment.Variables;
      expect(vars).toMatchObject({
        STAGE: stage,
        LOG_LEVEL: config.logLevel,
        MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
      });
      expect(imported(vars.BATCH_BUCKET)).toBe(bucketId);
      expect(imported(vars.BATCH_QUEUE_URL)).toBe(queueId);
      expect(vars).not.toHaveProperty('TOLLGATE_SECRETS_ARN');
      // A model call fits in the function's time, with room to record the line.
      expect(config.modelTimeoutMs).toBeLessThan(batchWorkerTimeout.toMilliseconds());
    });

    it('reserves the stage’s batch concurrency, and its queue takes one less (the sweep keeps a slot)', () => {
      expect(worker.Properties.ReservedConcurrentExecutions).toBe(config.concurrency.batchWorker);
      expect(config.concurrency.batchWorker).toBe(stage === 'prod' ? 10 : 3);
      expect(mapping).toBeDefined();
      expect(mapping.Properties.ScalingConfig).toEqual({
        MaximumConcurrency: config.concurrency.batchWorker - 1,
      });
      // SQS event sources take a maximum concurrency of 2 or more.
      expect(mapping.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
      // Lines at once per chunk, pinned: the model calls batch work may have in flight are bounded.
      expect(worker.Properties.Environment.Variables.BATCH_WORKER_CONCURRENCY).toBe(String(batchWorkerLanes));
      expect(batchWorkerLanes).toBe(2);
      expect((config.concurrency.batchWorker - 1) * batchWorkerLanes).toBe(stage === 'prod' ? 18 : 4);
    });

    it('takes the batch queue one message at a time, reporting failed messages', () => {
      expect(imported(mapping.Properties.EventSourceArn)).toBe(`${queueId}.Arn`);
      expect(mapping.Properties).toMatchObject({
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(batchWorkerMapping).toEqual({ batchSize: 1, reportBatchItemFailures: true });
      expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
      expect(mapping.Properties.Enabled).not.toBe(false);
    });

    it('runs the batch sweep every minute, not retried, failures to the jobs’ dead-letter queue', () => {
      const rule = ruleFor(workerId);
      expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
      expect(rule.Properties.Targets).toHaveLength(1);
      const [deadLettersId] = queueNamed('job-dead-letters');
      expect(rule.Properties.Targets[0]).toMatchObject({
        RetryPolicy: { MaximumRetryAttempts: 0 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] } },
      });
      expect(worker.Properties.DeadLetterConfig).toEqual({
        TargetArn: { 'Fn::GetAtt': [deadLettersId, 'Arn'] },
      });
    });

    it('gets a queue whose visibility outlasts six runs, with a dead-letter queue after 5 receives, encrypted and TLS-only', () => {
      expect(batchVisibilityTimeoutFactor).toBeGreaterThanOrEqual(6);
      expect(queue.Properties.VisibilityTimeout).toBe(batchWorkerTimeout.toSeconds() * 6);
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Properties.Timeout);
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [deadId, 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(batchMaxReceiveCount).toBe(5);
      // Queued chunks outlive a batch's 24-hour window.
      expect(queue.Properties.MessageRetentionPeriod).toBeGreaterThan(24 * 3600);
      for (const id of [queueId, deadId]) {
        expect(dataResources[id].Properties.SqsManagedSseEnabled, id).toBe(true);
        const policies = (Object.values(data.findResources('AWS::SQS::QueuePolicy')) as Cfn[]).filter((p) =>
          p.Properties.Queues.some((q: Cfn) => q.Ref === id),
        );
        expect(policies, id).toHaveLength(1);
        expect(policies[0]!.Properties.PolicyDocument.Statement).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
      expect(dataResources[deadId].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      expect(dataResources[deadId].Properties.RedrivePolicy).toBeUndefined();
    });

    it("reads and writes the batch bucket's objects, by the bucket's name, and lists the bucket: no delete", () => {
      const s3 = statements()
        .filter(on('s3:'))
        .filter((st) => st.Sid === 'BatchFiles');
      expect(s3).toHaveLength(1);
      expect(asArray<string>(s3[0].Action).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
      expect([...batchWorkerObjectActions]).toEqual(['s3:GetObject', 's3:PutObject']);
      expect(asArray(s3[0].Resource).map(render)).toEqual([`arn:aws:s3:::${bucket.Properties.BucketName}/*`]);
      // ListBucket on the bucket alone: so a missing object is NoSuchKey (404), not AccessDenied.
      const list = statements()
        .filter(on('s3:'))
        .filter((st) => st !== s3[0]);
      expect(list.map((st) => [asArray(st.Action), asArray(st.Resource).map(render)])).toEqual([
        [['s3:ListBucket'], [`arn:aws:s3:::${bucket.Properties.BucketName}`]],
      ]);
      expect(JSON.stringify(statements())).not.toContain('s3:DeleteObject');
    });

    it('consumes the batch queue and sends to it, and to no other queue but the jobs’ dead letters', () => {
      const sqs = statements().filter(on('sqs:'));
      const byQueue = new Map<string, string[]>();
      for (const st of sqs) {
        for (const r of asArray(st.Resource)) {
          const key = imported(r);
          byQueue.set(key, [...(byQueue.get(key) ?? []), ...asArray<string>(st.Action)]);
        }
      }
      const [deadLettersId] = queueNamed('job-dead-letters');
      expect([...byQueue.keys()].sort()).toEqual([`\${${deadLettersId}.Arn}`, `${queueId}.Arn`].sort());
      expect([...new Set(byQueue.get(`${queueId}.Arn`))].sort()).toEqual([
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ]);
      // The async invocations' dead letters (the sweep): send only.
      expect(byQueue.get(`\${${deadLettersId}.Arn}`)).toEqual(['sqs:SendMessage']);
    });

    it("invokes the stage's endpoints as the data plane does (not streamed), and no other model", () => {
      const sagemaker = statements().filter(on('sagemaker:'));
      expect(sagemaker).toHaveLength(1);
      expect(asArray(sagemaker[0].Action)).toEqual(['sagemaker:InvokeEndpoint']);
      expect([...batchWorkerModelActions]).toEqual(['sagemaker:InvokeEndpoint']);
      expect(asArray(sagemaker[0].Resource).map(render)).toEqual([
        `arn:aws:sagemaker:us-east-1:123456789012:endpoint/tollgate-${stage}-*`,
      ]);
    });

    it("has the API's item actions on the two tables and their indexes, and nothing else: no secret, no Stripe", () => {
      const dynamo = statements().filter(on('dynamodb:'));
      expect(dynamo).toHaveLength(1);
      expect(asArray<string>(dynamo[0].Action).sort()).toEqual([...apiTableActions].sort());
      const resources = asArray(dynamo[0].Resource).map((r) => imported(r).replace(/\/index\/.*$/, ''));
      expect(new Set(resources)).toEqual(new Set(tableIds.map((id) => `${id}.Arn`)));
      const services = new Set(
        statements().flatMap((st) => asArray<string>(st.Action).map((a) => a.split(':')[0])),
      );
      expect([...services].sort()).toEqual(['dynamodb', 'logs', 's3', 'sagemaker', 'sqs', 'xray']);
    });
  });
});
