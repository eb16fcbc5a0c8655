import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag (v3) names each IAM wildcard finding after the resource text, with CloudFormation
 * references flattened (`{Ref: X}` -> `<X>`, GetAtt -> `<X.Attr>`, joins joined). This renders a
 * resource the same way, so an acknowledgment names exactly the wildcard it accepts, whatever
 * account and region the stack is synthesized for.
 */
export function nagResourceText(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(visit).join(sep);
      }
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${visit(resource)}.${visit(attribute)}>`;
      }
      if ('Ref' in o) return `<${visit(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/** Accepts one IAM wildcard resource on `scope` (the role or policy that grants it), with the reason. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceText(scope, resource)}]`,
    reason,
  });
}

/**
 * Lambda active tracing adds `xray:PutTraceSegments` and `xray:PutTelemetryRecords` on `*` to the
 * function's role: X-Ray's write actions take no resource narrower than that. Accepted per role.
 */
export function acknowledgeTracing(role: IConstruct): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS documents * as their only resource); they only write this function's trace segments to X-Ray.",
  });
}
