import { describe, expect, it } from 'vitest';
import {
  dimension,
  emfRecord,
  metricDefinitions,
  metricsNamespace,
  noModelVersion,
} from '../../shared/observability/metrics';

describe('EMF metric records', () => {
  it('writes one metric with its contract dimension set, as CloudWatch expects', () => {
    const record = emfRecord(
      'Units',
      42,
      { service: 'api', Stage: 'prod', ModelVersion: 'sentiment@v1', Unit: 'input_tokens' },
      1_700_000_000_000,
    );
    expect(record).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: metricsNamespace,
            Dimensions: [['service', 'Stage', 'ModelVersion', 'Unit']],
            Metrics: [{ Name: 'Units', Unit: 'Count' }],
          },
        ],
      },
      service: 'api',
      Stage: 'prod',
      ModelVersion: 'sentiment@v1',
      Unit: 'input_tokens',
      Units: 42,
    });
    // A JSON line: what the Lambda writes to stdout.
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('refuses a record missing a dimension (it would be a different, unwatched metric)', () => {
    expect(() =>
      emfRecord('Errors', 1, { service: 'api', Stage: 'dev', ModelVersion: noModelVersion }),
    ).toThrow(/Errors needs dimension Code/);
    expect(() => emfRecord('Latency', 5, { service: 'api', Stage: '', ModelVersion: 'x@y' })).toThrow(
      /Stage/,
    );
  });

  it('leaves out dimensions that are not in the metric set', () => {
    const record = emfRecord('BillingSyncFailures', 1, { service: 'billing-sync', Stage: 'dev', Code: 'x' });
    expect(record).not.toHaveProperty('Code');
  });

  it('tags every metric with service and stage', () => {
    for (const definition of Object.values(metricDefinitions)) {
      expect(definition.dimensions.slice(0, 2)).toEqual([dimension.service, dimension.stage]);
    }
  });
});
