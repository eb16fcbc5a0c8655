import { ArnFormat, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type TableId, tableDefinitions, tableName } from '../../shared/db/tables';
import {
  dimension,
  type MetricName,
  metricDefinitions,
  metricServices,
  metricsNamespace,
} from '../../shared/observability/metrics';
import type { StageConfig } from '../config';
import { type EndpointPlan, type SeedCatalog, versionKey } from '../model-endpoints';
import { endpointWidgets } from './endpoint-widgets';
import { usageConsumerMapping } from './jobs-stack';
import { noCapacityMetric } from './models-stack';

export interface ObservabilityStackProps extends StackProps {
  config: StageConfig;
  /** The public API's functions (one per plane, and the streaming twin) by id, and its HTTP API, from the API stack. */
  apiFunctions: Record<string, IFunction>;
  httpApi: IHttpApi;
  /** The stage's catalog: one line per version on the per-version graphs. */
  catalog: SeedCatalog;
  /** The SageMaker endpoints the Models stack runs; empty when the stage deploys none. */
  endpoints: EndpointPlan[];
  /** The API function behind the Function URL (its Url5xxCount and UrlRequestCount). */
  streamFunction?: IFunction;
}

/** The DynamoDB operations the code sends, whose `ThrottledRequests` the table alarms sum. */
export const throttledOperations = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
] as const;

/** SageMaker's per-inference-component utilisation metrics (normalized to what each copy reserved). */
export const componentMetricsNamespace = '/aws/sagemaker/InferenceComponents';

/**
 * The dashboard and alarms of a stage. Reads three sources: the custom metrics the handlers emit
 * (namespace `Tollgate`, shared/observability/metrics.ts), SageMaker's per-inference-component
 * metrics, and API Gateway's and Lambda's own. Alarms notify one SNS topic (mailed to
 * `observability.alarmEmail` when set).
 */
export class ObservabilityStack extends Stack {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly config: StageConfig;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    this.period = Duration.minutes(config.observability.periodMinutes);

    this.topic = this.createTopic(config);
    this.addApiAlarms(props);
    this.addTableAlarms();
    for (const endpoint of props.endpoints) this.addEndpointAlarms(endpoint);
    this.addBillingSyncAlarm();

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `tollgate-${config.stage}`,
      defaultInterval: Duration.hours(6),
    });
    this.addWidgets(props);
  }

  /**
   * Alarms on a function's errors, for handlers deployed by other stacks (the billing sync job:
   * `observability.alarmOnFunctionErrors('BillingSync', fn, '...')` in infra/tollgate.ts).
   */
  alarmOnFunctionErrors(id: string, fn: IFunction, description: string): Alarm {
    return this.alarm(`${id}Errors`, {
      metric: fn.metricErrors({ period: this.period, statistic: Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      description,
    });
  }

  /**
   * Alarms when Lambda throttles a function: it is at its reserved concurrency (API functions) or
   * the account's unreserved pool ran dry (jobs). Callers get 429/503 meanwhile.
   */
  alarmOnThrottles(id: string, fn: IFunction, description: string): Alarm {
    return this.alarm(`${id}Throttles`, {
      metric: fn.metricThrottles({ period: this.period, statistic: Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      description,
    });
  }

  /** Alarms as soon as a message sits in a dead-letter queue (a scheduled run that never ran or crashed). */
  alarmOnDeadLetters(id: string, queue: IQueue, description: string): Alarm {
    return this.alarm(`${id}DeadLetters`, {
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: this.period,
        statistic: Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      description,
    });
  }

  /**
   * The usage consumer (Jobs stack): alarms on its iterator age (the aggregates fall behind the
   * records), on its errors (a batch failed and is being retried) and on its on-failure queue (a
   * batch was discarded after its retries: its changes are missing from the aggregates), and a
   * dashboard row with the three.
   */
  watchUsageConsumer(fn: IFunction, failures: IQueue): Alarm[] {
    const minute = Duration.minutes(1);
    const iteratorAge = fn.metric('IteratorAge', { period: minute, statistic: Stats.MAXIMUM });
    const lagMinutes = 5;
    const alarms = [
      this.alarm('UsageConsumerIteratorAge', {
        // IteratorAge is in milliseconds: the age of the last record of the last batch handed over.
        metric: iteratorAge,
        threshold: 60_000,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: lagMinutes,
        description: `The usage consumer has been more than a minute behind the usage table's stream for ${lagMinutes} minutes: usage reports, consoles and billing see aggregates that old. Look for its errors (a batch being retried) and throttling; records older than a day leave the stream.`,
      }),
      this.alarmOnFunctionErrors(
        'UsageConsumer',
        fn,
        `The usage consumer failed a batch; the mapping retries it (split in two each time) up to ${usageConsumerMapping.retryAttempts} times. A retried batch is applied once (per-shard checkpoint). Read its log group in the Jobs stack; if the failures queue alarms too, a batch was discarded.`,
      ),
      this.alarmOnDeadLetters(
        'UsageConsumer',
        failures,
        'The usage consumer discarded a batch after its retries: those records’ changes are missing from the aggregates. The message names the stream shard and sequence range. See docs/observability.md (Usage consumer) before deleting it.',
      ),
    ];
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Usage consumer: iterator age (ms, max per minute)',
        left: [iteratorAge.with({ label: 'iterator age' })],
        width: 12,
        height: 6,
      }),
      new GraphWidget({
        title: 'Usage consumer: errors and discarded batches',
        left: [fn.metricErrors({ period: this.period, statistic: Stats.SUM, label: 'errors' })],
        right: [
          failures.metricApproximateNumberOfMessagesVisible({
            period: this.period,
            statistic: Stats.MAXIMUM,
            label: 'batches in the failures queue',
          }),
        ],
        width: 12,
        height: 6,
      }),
    );
    return alarms;
  }

  /**
   * Batch (Data and Jobs stacks): an alarm as soon as a chunk is in the batch dead-letter queue,
   * the worker's crashes, and a dashboard row with the queue's backlog, its oldest chunk's age (a
   * batch whose chunks wait near 24 hours expires) and what the worker runs at once (at most its
   * reserved concurrency).
   */
  watchBatch(queue: IQueue, deadLetters: IQueue, worker: IFunction, maxReceiveCount: number): Alarm[] {
    const alarms = [
      this.alarmOnDeadLetters(
        'Batch',
        deadLetters,
        `A batch chunk failed ${maxReceiveCount} deliveries to the batch worker and was set aside: its lines stay unanswered until the batch expires (then they are marked expired, not billed). The message holds the chunk; find the cause in the batch worker's log group (Jobs stack), fix it, then move the message back to the work queue (SQS redrive).`,
      ),
      this.alarmOnFunctionErrors(
        'BatchWorker',
        worker,
        'The batch worker crashed or timed out (a chunk it could not finish returns to the queue after its visibility timeout; a crashed sweep waits for the next minute). Read its log group in the Jobs stack.',
      ),
    ];
    const max = { period: this.period, statistic: Stats.MAXIMUM };
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Batch: chunks queued, in flight and set aside',
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'queued' }),
          queue.metricApproximateNumberOfMessagesNotVisible({ ...max, label: 'in flight' }),
          deadLetters.metricApproximateNumberOfMessagesVisible({ ...max, label: 'dead letters' }),
        ],
        width: 8,
        height: 6,
      }),
      new GraphWidget({
        title: 'Batch: age of the oldest queued chunk (s)',
        left: [queue.metricApproximateAgeOfOldestMessage({ ...max, label: 'oldest chunk' })],
        width: 8,
        height: 6,
      }),
      new GraphWidget({
        title: 'Batch worker: concurrent executions and errors',
        left: [worker.metric('ConcurrentExecutions', { ...max, label: 'running at once' })],
        right: [worker.metricErrors({ period: this.period, statistic: Stats.SUM, label: 'errors' })],
        width: 8,
        height: 6,
      }),
    );
    return alarms;
  }

  /** An SNS topic for alarms: encrypted with a rotating key, SSL-only, publishable by CloudWatch of this account. */
  private createTopic(config: StageConfig): Topic {
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    const fromThisAccount = { StringEquals: { 'aws:SourceAccount': this.account } };
    // A customer-managed key: CloudWatch can publish to an encrypted topic only if the key policy
    // lets it, which the AWS-managed SNS key cannot.
    const key = new Key(this, 'AlarmTopicKey', {
      description: `Tollgate ${config.stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccount,
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', {
      topicName: `tollgate-${config.stage}-alarms`,
      displayName: `Tollgate ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ...fromThisAccount,
          ArnLike: {
            'aws:SourceArn': this.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (config.observability.alarmEmail) {
      topic.addSubscription(new EmailSubscription(config.observability.alarmEmail));
    }
    return topic;
  }

  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
      /** Default: at or above the threshold. */
      comparisonOperator?: ComparisonOperator;
      description: string;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `tollgate-${this.config.stage}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm ?? options.evaluationPeriods,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not an outage; each alarm here watches something that only exists with traffic.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** `100 * errors / total` when there are at least `minRequestsForRate` requests, else 0. */
  private rate(errors: IMetric, total: IMetric, label: string): MathExpression {
    return new MathExpression({
      expression: `IF(total >= ${this.config.observability.minRequestsForRate}, 100 * errors / total, 0)`,
      usingMetrics: { errors, total },
      period: this.period,
      label,
    });
  }

  private addApiAlarms(props: ObservabilityStackProps): void {
    const obs = this.config.observability;
    const sum = { period: this.period, statistic: Stats.SUM };
    this.alarm('Api5xxRate', {
      metric: this.rate(props.httpApi.metricServerError(sum), props.httpApi.metricCount(sum), 'API 5xx %'),
      threshold: obs.apiErrorRatePercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `More than ${obs.apiErrorRatePercent}% of API answers were 5xx in 2 of 3 ${obs.periodMinutes}-minute periods. Check the API functions' logs (by request id) and the model endpoints.`,
    });
    // The Hono app answers every failure itself, so a Lambda error is a crash or a timeout.
    // One alarm per function: the alarm's name says which plane's logs to read.
    for (const [id, fn] of Object.entries(props.apiFunctions)) {
      const title = `Api${id.charAt(0).toUpperCase()}${id.slice(1)}`;
      this.alarm(`${title}FunctionErrors`, {
        metric: fn.metricErrors(sum),
        threshold: 1,
        evaluationPeriods: 1,
        description: `The API's ${id} function crashed or timed out (the app answers handled errors itself). Its log group is in the Api stack.`,
      });
      const reserved = this.config.concurrency.api[id as keyof StageConfig['concurrency']['api']];
      this.alarmOnThrottles(
        title,
        fn,
        `Lambda throttled the API's ${id} function: it is at its reserved concurrency (${reserved}, infra/config.ts concurrency.api.${id}), and callers get 503 (HTTP API) or 429 (Function URL). A flood, or the reservation is too small for the traffic.`,
      );
    }
    // The Function URL's answers are not in API Gateway's metrics: its own 5xx rate.
    if (props.streamFunction) {
      const url = (metricName: string) => props.streamFunction!.metric(metricName, sum);
      this.alarm('StreamUrl5xxRate', {
        metric: this.rate(url('Url5xxCount'), url('UrlRequestCount'), 'Function URL 5xx %'),
        threshold: obs.apiErrorRatePercent,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `More than ${obs.apiErrorRatePercent}% of the streaming Function URL's answers (streamed chat) were 5xx in 2 of 3 ${obs.periodMinutes}-minute periods. Check the stream function's log group in the Api stack.`,
      });
    }
  }

  /** Per table: throttled requests (any operation the code sends) and transaction conflicts. */
  private addTableAlarms(): void {
    const obs = this.config.observability;
    for (const id of Object.keys(tableDefinitions) as TableId[]) {
      const table = tableName(this.config.stage, id);
      const dynamo = (metricName: string, extra: Record<string, string> = {}) =>
        new Metric({
          namespace: 'AWS/DynamoDB',
          metricName,
          dimensionsMap: { TableName: table, ...extra },
          statistic: Stats.SUM,
          period: this.period,
        });
      const title = `Table${id.charAt(0).toUpperCase()}${id.slice(1)}`;
      const usingMetrics = Object.fromEntries(
        throttledOperations.map((op) => [
          `t${op.toLowerCase()}`,
          dynamo('ThrottledRequests', { Operation: op }),
        ]),
      );
      this.alarm(`${title}Throttles`, {
        metric: new MathExpression({
          expression: Object.keys(usingMetrics).join(' + '),
          usingMetrics,
          period: this.period,
          label: `${table} throttled requests`,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        description: `DynamoDB throttled requests to ${table} (an item or partition past its per-second limit, or on-demand scaling behind a jump). The API answers 503 store_unavailable for what it could not retry; look for one hot tenant (CloudWatch Contributor Insights on the table).`,
      });
      this.alarm(`${title}TransactionConflicts`, {
        metric: dynamo('TransactionConflict'),
        threshold: obs.transactionConflictsPerPeriod,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `${table} cancelled at least ${obs.transactionConflictsPerPeriod} transactions for conflicts per ${obs.periodMinutes} minutes in 2 of 3 periods: requests of one tenant meet on its counters faster than they settle; past their retries they end as 503 store_unavailable (docs/metering.md).`,
      });
    }
  }

  /**
   * Per inference component (model version): latency and 5xx rate (named in the component's
   * automatic rollback: componentAlarmNames), its copies' CPU, memory and, on a GPU, GPU
   * utilisation (of what each copy reserved), and cold calls: calls SageMaker refused because
   * the version had no copy.
   */
  private addEndpointAlarms(endpoint: EndpointPlan): void {
    const obs = this.config.observability;
    for (const component of endpoint.components) {
      const dims = { InferenceComponentName: component.componentName };
      const metric = (namespace: string, metricName: string, statistic: string) =>
        new Metric({ namespace, metricName, dimensionsMap: dims, statistic, period: this.period });
      const sagemaker = (metricName: string, statistic: string) =>
        metric('AWS/SageMaker', metricName, statistic);
      const timeoutMs = component.timeoutMs ?? this.config.modelTimeoutMs;
      const thresholdMs = Math.round(timeoutMs * obs.latencyShareOfTimeout);
      // The alarm ids are the names componentAlarmNames gives (tollgate-<stage>-<id>).
      const id = component.componentName;
      const { key } = component;
      this.alarm(`${id}-Latency`, {
        // ModelLatency is in microseconds.
        metric: sagemaker('ModelLatency', Stats.p(90)),
        threshold: thresholdMs * 1000,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `${key}: p90 model latency above ${thresholdMs} ms (${Math.round(obs.latencyShareOfTimeout * 100)}% of its ${timeoutMs} ms budget) in 2 of 3 periods; requests are about to time out. During a release it rolls the release back. Otherwise scale out (maxCopies) or check the container logs.`,
      });
      this.alarm(`${id}-5xxRate`, {
        metric: this.rate(
          sagemaker('Invocation5XXErrors', Stats.SUM),
          sagemaker('Invocations', Stats.SUM),
          `${key} 5xx %`,
        ),
        threshold: obs.endpointErrorRatePercent,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `${key}: more than ${obs.endpointErrorRatePercent}% of invocations failed with 5xx in 2 of 3 periods. During a release it rolls the release back. Check /aws/sagemaker/Endpoints/${endpoint.endpointName}.`,
      });
      // Utilisation of what the copies reserved (NumberOfCpuCoresRequired, MinMemoryRequiredInMb,
      // their GPUs): SageMaker's normalized per-component metrics, 0 to 100.
      const busy = obs.endpointUtilizationPercent;
      const utilisation = [
        ['Cpu', 'CPUUtilizationNormalized', 'CPU'],
        ['Memory', 'CPUMemoryUtilizationNormalized', 'memory'],
        ...(component.deployment.resources.acceleratorDevices
          ? [
              ['Gpu', 'GPUUtilizationNormalized', 'GPU'],
              ['GpuMemory', 'GPUMemoryUtilizationNormalized', 'GPU memory'],
            ]
          : []),
      ] as const;
      for (const [suffix, metricName, what] of utilisation) {
        this.alarm(`${id}-${suffix}`, {
          metric: metric(componentMetricsNamespace, metricName, Stats.AVERAGE),
          threshold: busy,
          evaluationPeriods: 3,
          description: `${key}: its copies averaged over ${busy}% of their reserved ${what} for 3 periods; auto scaling is at maxCopies or behind. Raise maxCopies or the copy's resources in shared/catalog/deployment.ts.`,
        });
      }
      // Cold: a call found no copy. For a version that should always run (not a preview) that is
      // an outage at once; a preview version is woken by its first call (the Models stack's wake
      // alarm), so only calls still refused after three periods mean its copy does not start.
      const periods = component.scalesToZero ? 3 : 1;
      this.alarm(`${id}-Cold`, {
        metric: sagemaker(noCapacityMetric, Stats.SUM),
        threshold: 1,
        evaluationPeriods: periods,
        description: component.scalesToZero
          ? `${key} (preview, scales to zero): calls found no copy in ${periods} periods running (${periods * obs.periodMinutes} minutes); callers get 503 model_cold. A copy was asked for and has not started: look at the component's events (SageMaker console) and /aws/sagemaker/Endpoints/${endpoint.endpointName}, and the instance quota for ${endpoint.instanceType}.`
          : `${key}: calls found no copy running (callers get 503 model_cold); it should never be at zero copies. Look at the component's copy count and events (SageMaker console) and /aws/sagemaker/Endpoints/${endpoint.endpointName}.`,
      });
    }
  }

  /**
   * The billing sync job (the Jobs stack) reports failed runs as `BillingSyncFailures`. Its
   * function's own errors are wired with alarmOnFunctionErrors in infra/tollgate.ts.
   */
  private addBillingSyncAlarm(): void {
    this.alarm('BillingSyncFailures', {
      metric: this.custom('BillingSyncFailures', Stats.SUM, {}, metricServices.billingSync),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        'A billing sync run failed to push usage to Stripe. Reruns are idempotent (cursor + identifiers): fix the cause, then rerun.',
    });
    const lag = this.config.observability.billingSyncLagMinutes;
    this.alarm('BillingSyncLag', {
      metric: this.custom('BillingSyncLagMinutes', Stats.MAXIMUM, {}, metricServices.billingSync),
      threshold: lag,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      description: `A closed usage window has waited more than ${lag} minutes for the billing sync (BillingSyncLagMinutes): Stripe is refused or unreachable, runs time out before they reach every tenant, or the backlog outgrows a run. Invoices stay right (the cursor), but late. See BillingSyncFailures and the job's log group.`,
    });
  }

  /** A metric of the contract, with the stage's `service` and `Stage` dimensions filled in. */
  private custom(
    name: MetricName,
    statistic: string,
    extra: Record<string, string>,
    service: string = metricServices.api,
    label?: string,
  ): Metric {
    const dimensionsMap = { [dimension.service]: service, [dimension.stage]: this.config.stage, ...extra };
    const expected = [...metricDefinitions[name].dimensions].sort();
    if (JSON.stringify(Object.keys(dimensionsMap).sort()) !== JSON.stringify(expected)) {
      throw new Error(`metric ${name} is emitted with dimensions ${expected.join(', ')}`);
    }
    return new Metric({
      namespace: metricsNamespace,
      metricName: name,
      dimensionsMap,
      statistic,
      period: this.period,
      ...(label ? { label } : {}),
    });
  }

  /** A SEARCH over every value of the contract dimensions (error codes are open-ended per route). */
  private search(name: MetricName, label: string): MathExpression {
    const dims = metricDefinitions[name].dimensions.join(',');
    const stage = this.config.stage;
    return new MathExpression({
      expression: `SEARCH('{${metricsNamespace},${dims}} MetricName="${name}" ${dimension.stage}="${stage}"', 'Sum', ${this.period.toSeconds()})`,
      usingMetrics: {},
      label,
      period: this.period,
    });
  }

  private addWidgets(props: ObservabilityStackProps): void {
    const { apiFunctions, httpApi, catalog, endpoints } = props;
    const sum = { period: this.period, statistic: Stats.SUM };
    const unitsByModel = new Map(catalog.models.map((m) => [m.name, m.units]));
    const versions = catalog.versions.map(versionKey);
    const byVersion = (name: MetricName, statistic: string) =>
      versions.map((v) =>
        this.custom(name, statistic, { [dimension.modelVersion]: v }, metricServices.api, v),
      );
    const wide = { width: 12, height: 6 };

    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Tollgate ${this.config.stage}\nAPI, per model version (custom metrics, see docs/observability.md), SageMaker endpoints, alarms.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API answers',
        left: [
          httpApi.metricCount({ ...sum, label: 'requests' }),
          httpApi.metricClientError({ ...sum, label: '4xx' }),
          httpApi.metricServerError({ ...sum, label: '5xx' }),
        ],
        ...wide,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [Stats.p(50), Stats.p(90), Stats.p(99)].map((statistic) =>
          httpApi.metricLatency({ period: this.period, statistic, label: statistic }),
        ),
        right: Object.entries(apiFunctions).map(([id, fn]) =>
          fn.metricErrors({ ...sum, label: `${id} function errors` }),
        ),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Requests per model version',
        left: byVersion('Requests', Stats.SUM),
        ...wide,
      }),
      new GraphWidget({
        title: 'Latency p90 per model version (ms)',
        left: byVersion('Latency', Stats.p(90)),
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Errors by version and code', left: [this.search('Errors', '')], ...wide }),
      new GraphWidget({
        title: 'Refusals by version and code',
        left: [this.search('Refusals', '')],
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Usage: units per model version',
        left: catalog.versions.flatMap((v) =>
          (unitsByModel.get(v.model) ?? []).map((unit) =>
            this.custom(
              'Units',
              Stats.SUM,
              { [dimension.modelVersion]: versionKey(v), [dimension.unit]: unit },
              metricServices.api,
              `${versionKey(v)} ${unit}`,
            ),
          ),
        ),
        ...wide,
      }),
      new GraphWidget({
        title: 'Billing sync: failures and lag',
        left: [this.custom('BillingSyncFailures', Stats.SUM, {}, metricServices.billingSync, 'failed runs')],
        right: [
          this.custom(
            'BillingSyncLagMinutes',
            Stats.MAXIMUM,
            {},
            metricServices.billingSync,
            'lag (minutes)',
          ),
        ],
        ...wide,
      }),
    );

    for (const endpoint of endpoints) this.dashboard.addWidgets(...endpointWidgets(endpoint, this.period));
  }
}
