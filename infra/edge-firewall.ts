import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { WafConfig } from './config';

/** The AWS managed rule groups the web ACL runs, in priority order. */
export const managedRuleGroups = [
  // Addresses Amazon's threat intelligence reports as bots, scanners and attack sources.
  'AWSManagedRulesAmazonIpReputationList',
  // OWASP-style rules: bad user agents, path traversal, SSRF and XSS in URIs, headers and cookies.
  'AWSManagedRulesCommonRuleSet',
  // Request patterns known to exploit vulnerabilities (Log4j, Java deserialization, ...).
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

/**
 * Rules of the common rule set that read request bodies, counted instead of blocked. Bodies here
 * are model inputs: chat prompts legitimately hold HTML, script and file paths (XSS, LFI, RFI and
 * SSRF patterns), and images arrive base64-encoded well past the set's 8 KB body limit
 * (SizeRestrictions_BODY). The API validates every body itself; these still count in the metrics.
 */
export const countedBodyRules = [
  'SizeRestrictions_BODY',
  'CrossSiteScripting_BODY',
  'GenericLFI_BODY',
  'GenericRFI_BODY',
  'EC2MetaDataSSRF_BODY',
] as const;

/**
 * A WAFv2 web ACL for the console's CloudFront distribution (scope CLOUDFRONT, which WAF accepts
 * only in us-east-1): AWS managed rule groups and a per-IP rate limit, allowing everything else.
 */
export class EdgeFirewall extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: { name: string; waf: WafConfig }) {
    super(scope, id);
    const { name, waf } = props;
    if (!Number.isInteger(waf.rateLimitPerIpPer5Minutes) || waf.rateLimitPerIpPer5Minutes < 10) {
      throw new Error('waf.rateLimitPerIpPer5Minutes must be an integer >= 10 (WAF minimum)');
    }
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const rules: CfnWebACL.RuleProperty[] = managedRuleGroups.map((group, priority) => ({
      name: group,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name: group,
          ...(group === 'AWSManagedRulesCommonRuleSet'
            ? {
                ruleActionOverrides: countedBodyRules.map((rule) => ({
                  name: rule,
                  actionToUse: { count: {} },
                })),
              }
            : {}),
        },
      },
      visibilityConfig: visibility(`${name}-${group}`),
    }));
    rules.push({
      name: 'RatePerIp',
      priority: managedRuleGroups.length,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          limit: waf.rateLimitPerIpPer5Minutes,
          evaluationWindowSec: 300,
          aggregateKeyType: 'IP',
        },
      },
      visibilityConfig: visibility(`${name}-RatePerIp`),
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name,
      description:
        'Tollgate: AWS managed rule groups and a per-IP rate limit in front of the console and API',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility(name),
    });
  }
}
