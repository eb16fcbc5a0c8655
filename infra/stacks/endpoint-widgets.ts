import type { Duration } from 'aws-cdk-lib';
import { GraphWidget, Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { EndpointPlan } from '../model-endpoints';

/**
 * One dashboard row per SageMaker endpoint, a line per inference component (model version):
 * invocations beside 5xx and cold calls (refused for want of a copy), model latency p90, and the
 * CPU and GPU its copies use of what they reserved.
 */
export function endpointWidgets(endpoint: EndpointPlan, period: Duration): GraphWidget[] {
  const componentMetric = (namespace: string, metricName: string, statistic: string, suffix = '') =>
    endpoint.components.map(
      (c) =>
        new Metric({
          namespace,
          metricName,
          dimensionsMap: { InferenceComponentName: c.componentName },
          statistic,
          period,
          label: `${c.key}${suffix}`,
        }),
    );
  const third = { width: 8, height: 6 };
  const gpu = endpoint.components.some((c) => c.deployment.resources.acceleratorDevices);
  return [
    new GraphWidget({
      title: `${endpoint.endpointName}: invocations / 5xx and cold calls`,
      left: componentMetric('AWS/SageMaker', 'Invocations', Stats.SUM),
      right: [
        ...componentMetric('AWS/SageMaker', 'Invocation5XXErrors', Stats.SUM, ' 5xx'),
        ...componentMetric('AWS/SageMaker', 'NoCapacityInvocationFailures', Stats.SUM, ' cold'),
      ],
      ...third,
    }),
    new GraphWidget({
      title: `${endpoint.endpointName}: model latency p90 (µs)`,
      left: componentMetric('AWS/SageMaker', 'ModelLatency', Stats.p(90)),
      ...third,
    }),
    new GraphWidget({
      title: `${endpoint.endpointName}: CPU${gpu ? ' / GPU' : ''} % of what the copies reserved`,
      left: componentMetric('/aws/sagemaker/InferenceComponents', 'CPUUtilizationNormalized', Stats.AVERAGE),
      ...(gpu
        ? {
            right: componentMetric(
              '/aws/sagemaker/InferenceComponents',
              'GPUUtilizationNormalized',
              Stats.AVERAGE,
              ' GPU',
            ),
          }
        : {}),
      ...third,
    }),
  ];
}
