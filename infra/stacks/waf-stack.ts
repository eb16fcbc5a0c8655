import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig, WafConfig } from '../config';
import { EdgeFirewall } from '../edge-firewall';

/** The region WAF requires for web ACLs of scope CLOUDFRONT. */
export const cloudFrontWafRegion = 'us-east-1';

export interface WafStackProps extends StackProps {
  config: StageConfig;
  waf: WafConfig;
}

/**
 * The console distribution's web ACL, for a stage whose Console stack is not in us-east-1 (WAF
 * keeps CLOUDFRONT-scoped ACLs there only). The Console stack reads its ARN through CDK's
 * cross-region references: a custom resource here writes it to an SSM parameter in the Console
 * stack's region at deploy time, and one there reads it, so this stack deploys first.
 */
export class WafStack extends Stack {
  readonly firewall: EdgeFirewall;

  constructor(scope: Construct, id: string, props: WafStackProps) {
    super(scope, id, props);
    this.firewall = new EdgeFirewall(this, 'Firewall', {
      name: `tollgate-${props.config.stage}-edge`,
      waf: props.waf,
    });
  }
}
