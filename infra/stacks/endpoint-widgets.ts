import type { Duration } from 'aws-cdk-lib';
import { GraphWidget, Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { EndpointPlan } from '../model-endpoints';

/**
 * One dashboard row per SageMaker endpoint, a line per variant (model version): invocations and
 * 5xx, model latency p90, and invocations per instance beside CPU.
 */
export function endpointWidgets(endpoint: EndpointPlan, period: Duration): GraphWidget[] {
  const variantMetric = (namespace: string, metricName: string, statistic: string) =>
    endpoint.variants.map(
      (v) =>
        new Metric({
          namespace,
          metricName,
          dimensionsMap: { EndpointName: endpoint.endpointName, VariantName: v.variant },
          statistic,
          period,
          label: v.key,
        }),
    );
  const third = { width: 8, height: 6 };
  return [
    new GraphWidget({
      title: `${endpoint.endpointName}: invocations`,
      left: variantMetric('AWS/SageMaker', 'Invocations', Stats.SUM),
      right: variantMetric('AWS/SageMaker', 'Invocation5XXErrors', Stats.SUM),
      ...third,
    }),
    new GraphWidget({
      title: `${endpoint.endpointName}: model latency p90 (µs)`,
      left: variantMetric('AWS/SageMaker', 'ModelLatency', Stats.p(90)),
      ...third,
    }),
    new GraphWidget({
      title: `${endpoint.endpointName}: invocations per instance / CPU %`,
      left: variantMetric('AWS/SageMaker', 'InvocationsPerInstance', Stats.SUM),
      right: variantMetric('/aws/sagemaker/Endpoints', 'CPUUtilization', Stats.AVERAGE),
      ...third,
    }),
  ];
}
