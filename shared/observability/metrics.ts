/**
 * The custom metrics contract (docs/observability.md): what the handlers emit and what the
 * dashboard and alarms read. Declared once, as pure data, so the two cannot disagree on a name.
 * Handlers emit them as CloudWatch Embedded Metric Format log lines (no API call on the hot path).
 */
export const metricsNamespace = 'Tollgate';

/**
 * Dimension names. `service` is lowercase because Powertools' Metrics adds it under that name to
 * every metric; emitting it ourselves keeps hand-written EMF and Powertools interchangeable.
 */
export const dimension = {
  service: 'service',
  stage: 'Stage',
  modelVersion: 'ModelVersion',
  code: 'Code',
  unit: 'Unit',
} as const;
export type DimensionName = (typeof dimension)[keyof typeof dimension];

/** `ModelVersion` of a request that failed or was refused before a model version was resolved. */
export const noModelVersion = 'none';

/** Values of the `service` dimension: which handler emitted the metric. */
export const metricServices = { api: 'api', billingSync: 'billing-sync' } as const;

export interface MetricDefinition {
  unit: 'Count' | 'Milliseconds' | 'None';
  /** The one dimension set the metric is emitted with (CloudWatch matches dimension sets exactly). */
  dimensions: readonly DimensionName[];
  description: string;
}

const perVersion = [dimension.service, dimension.stage, dimension.modelVersion] as const;

export const metricDefinitions = {
  Requests: {
    unit: 'Count',
    dimensions: perVersion,
    description: 'one per /v1 request whose model version was resolved, whatever its outcome',
  },
  Errors: {
    unit: 'Count',
    dimensions: [...perVersion, dimension.code],
    description: 'one per 5xx answer, by error code (model_error, model_timeout, store_unavailable, ...)',
  },
  Latency: {
    unit: 'Milliseconds',
    dimensions: perVersion,
    description: 'handler time of each answered (2xx) request, from the request id to the last byte',
  },
  Refusals: {
    unit: 'Count',
    dimensions: [...perVersion, dimension.code],
    description: 'one per request refused by a limit or account state (429, 403), by error code',
  },
  Units: {
    unit: 'Count',
    dimensions: [...perVersion, dimension.unit],
    description: 'billable units served (input_tokens, output_tokens, images), as metered',
  },
  BillingSyncFailures: {
    unit: 'Count',
    dimensions: [dimension.service, dimension.stage],
    description: 'one per billing sync run that ended without pushing every pending aggregate',
  },
  BillingSyncLagMinutes: {
    // Minutes are no CloudWatch unit: the name says it.
    unit: 'None',
    dimensions: [dimension.service, dimension.stage],
    description:
      'once per billing sync run (with a billing provider): minutes since the instant before which every closed usage window is known to be sent (the last complete walk over the tenants), 0 right after a walk that left nobody behind',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof metricDefinitions;

/**
 * One EMF log record for one metric value: print it as a JSON line (in Lambda, to stdout) and
 * CloudWatch turns it into the metric. Throws on a missing dimension: a metric with a different
 * dimension set is a different metric, invisible to the dashboard and alarms.
 */
export function emfRecord(
  name: MetricName,
  value: number,
  dimensions: Partial<Record<DimensionName, string>>,
  timestamp: number = Date.now(),
): Record<string, unknown> {
  const definition: MetricDefinition = metricDefinitions[name];
  const values: Record<string, string> = {};
  for (const dim of definition.dimensions) {
    const v = dimensions[dim];
    if (v === undefined || v === '') throw new Error(`metric ${name} needs dimension ${dim}`);
    values[dim] = v;
  }
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: metricsNamespace,
          Dimensions: [[...definition.dimensions]],
          Metrics: [{ Name: name, Unit: definition.unit }],
        },
      ],
    },
    ...values,
    [name]: value,
  };
}
