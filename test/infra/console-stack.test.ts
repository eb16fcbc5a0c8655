import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { type StageConfig, stageConfig, stages, withOverrides } from '../../infra/config';
import { consoleRewriteFunctionCode, viewerAddressFunctionCode } from '../../infra/console-edge';
import { buildApp } from '../../infra/tollgate';
import {
  apiPathPatterns,
  consoleContentSecurityPolicy,
  consolePages,
  consoleSecurityHeaders,
  isConsolePage,
  matchesPathPattern,
  streamingPathPatterns,
} from '../../shared/console-routes';
import { EDGE_SECRET_HEADER, VIEWER_IP_HEADER } from '../../shared/http/client-ip';
import { type Cfn, onlyResource, templates, testEnv } from './helpers';

/** Runs the CloudFront Function's code as CloudFront would, on one viewer request. */
function rewrite(uri: string): string {
  const handler = new Function(`${consoleRewriteFunctionCode()}\nreturn handler;`)() as (event: Cfn) => Cfn;
  return handler({ request: { uri, method: 'GET', headers: {} } }).uri;
}

describe.each(stages)('console stack (%s)', (stage) => {
  const { console: template, api, stacks } = templates(stage);
  const [, distribution] = onlyResource(template, 'AWS::CloudFront::Distribution');
  const dist = distribution.Properties.DistributionConfig;
  const origins = new Map<string, Cfn>(dist.Origins.map((o: Cfn) => [o.Id, o]));
  const behaviors = dist.CacheBehaviors as Cfn[];

  it('keeps the files in a private, encrypted, TLS-only bucket without website hosting', () => {
    const [bucketId, bucket] = onlyResource(template, 'AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toMatchObject({
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
    });
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
    expect(bucket.Properties.LoggingConfiguration.LogFilePrefix).toBe('console-bucket/');
    const [, policy] = onlyResource(template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: bucketId } });
    const statements = policy.Properties.PolicyDocument.Statement as Cfn[];
    // TLS only.
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // Reads by CloudFront, for this distribution only (origin access control, not an OAI).
    const read = statements.find((s) => s.Principal?.Service === 'cloudfront.amazonaws.com');
    expect(read).toMatchObject({ Effect: 'Allow', Action: 's3:GetObject' });
    expect(JSON.stringify(read.Condition)).toContain('Distribution830FAC52');
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
  });

  it('serves the console from S3 through the page rewrite, with the security headers', () => {
    const def = dist.DefaultCacheBehavior;
    expect(origins.get(def.TargetOriginId).S3OriginConfig).toBeDefined();
    expect(origins.get(def.TargetOriginId).OriginAccessControlId).toBeDefined();
    expect(def.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(def.FunctionAssociations).toHaveLength(1);
    expect(def.FunctionAssociations[0].EventType).toBe('viewer-request');
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: consoleRewriteFunctionCode(),
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
    // No custom error responses: they would apply to API paths too and turn their 404s into HTML.
    expect(dist.CustomErrorResponses).toBeUndefined();
    expect(dist.DefaultRootObject).toBe('index.html');

    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const consolePolicy = Object.entries(policies).find(([id]) => id.startsWith('ConsoleHeaders'))!;
    expect(def.ResponseHeadersPolicyId).toEqual({ Ref: consolePolicy[0] });
    const config = (consolePolicy[1] as Cfn).Properties.ResponseHeadersPolicyConfig;
    // The same CSP the local server sends (local/web-console.ts reads the same constant).
    expect(config.SecurityHeadersConfig).toMatchObject({
      ContentSecurityPolicy: { ContentSecurityPolicy: consoleContentSecurityPolicy, Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, Override: true },
    });
    expect(consoleContentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(config.CustomHeadersConfig.Items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Header: 'Permissions-Policy',
          Value: consoleSecurityHeaders['Permissions-Policy'],
        }),
        expect.objectContaining({ Header: 'Cross-Origin-Opener-Policy', Value: 'same-origin' }),
      ]),
    );
  });

  it('routes every API path to the HTTP API, uncached, with all viewer headers but Host', () => {
    const apiId = Object.keys(api.findResources('AWS::ApiGatewayV2::Api'))[0]!;
    expect(behaviors.map((b) => b.PathPattern)).toEqual([...streamingPathPatterns, ...apiPathPatterns]);
    const [viewerFnId] = onlyResource(template, 'AWS::CloudFront::Function', {
      FunctionCode: viewerAddressFunctionCode(),
    });
    for (const b of behaviors) {
      expect(b, b.PathPattern).toMatchObject({
        // The managed policies: CachingDisabled and AllViewerExceptHostHeader.
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        Compress: false,
      });
      // The viewer's address for the per-IP limits, set at the edge (and only there).
      expect(b.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [viewerFnId, 'FunctionARN'] } },
      ]);
    }
    // Every API origin (HTTP API and stream URL) vouches for it with the stage's edge secret,
    // resolved by CloudFormation at deploy: the template never holds the value.
    const [edgeSecretId] = onlyResource(api, 'AWS::SecretsManager::Secret', {
      Name: `tollgate/${stage}/edge`,
    });
    const originIds = new Set(behaviors.map((b) => b.TargetOriginId));
    expect(originIds.size).toBe(2);
    for (const id of originIds) {
      const headers = origins.get(id).OriginCustomHeaders as Cfn[];
      expect(headers.map((h) => h.HeaderName)).toEqual([EDGE_SECRET_HEADER]);
      const value = JSON.stringify(headers[0].HeaderValue);
      expect(value).toContain('{{resolve:secretsmanager:');
      expect(value).toContain(':SecretString:EDGE_SECRET::}}');
      expect(value).toContain(edgeSecretId);
    }
    // The S3 origin gets no secret.
    expect(origins.get(dist.DefaultCacheBehavior.TargetOriginId).OriginCustomHeaders).toBeUndefined();
    const apiOrigins = behaviors
      .filter((b) => (apiPathPatterns as readonly string[]).includes(b.PathPattern))
      .map((b) => origins.get(b.TargetOriginId));
    for (const origin of apiOrigins) {
      expect(JSON.stringify(origin.DomainName)).toContain(apiId);
      expect(origin.CustomOriginConfig).toMatchObject({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
    }
  });

  it('sends chat completions to the streaming Function URL', () => {
    const [streamFnId] = onlyResource(api, 'AWS::Lambda::Function', {
      FunctionName: `tollgate-${stage}-api-stream`,
    });
    const [urlId, url] = onlyResource(api, 'AWS::Lambda::Url');
    expect(url.Properties).toMatchObject({
      InvokeMode: 'RESPONSE_STREAM',
      TargetFunctionArn: { 'Fn::GetAtt': [streamFnId, 'Arn'] },
    });
    const chat = behaviors.find((b) => b.PathPattern === '/v1/chat/completions')!;
    const origin = origins.get(chat.TargetOriginId);
    expect(JSON.stringify(origin.DomainName)).toContain(urlId);
    expect(origin.CustomOriginConfig.OriginReadTimeout).toBe(60);
    // The first matching pattern wins: the stream behaviour precedes /v1/*.
    expect(behaviors.indexOf(chat)).toBeLessThan(behaviors.findIndex((b) => b.PathPattern === '/v1/*'));
  });

  it(
    stage === 'prod'
      ? 'puts a WAF web ACL in front (managed rules, a per-IP rate limit)'
      : 'runs without a WAF web ACL',
    () => {
      const acls = template.findResources('AWS::WAFv2::WebACL');
      if (!stageConfig(stage).waf) {
        expect(stage).toBe('dev');
        expect(acls).toEqual({});
        expect(dist.WebACLId).toBeUndefined();
        return;
      }
      const [aclId, acl] = onlyResource(template, 'AWS::WAFv2::WebACL');
      expect(dist.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
      expect(acl.Properties.Scope).toBe('CLOUDFRONT');
      expect(stacks.console.region).toBe('us-east-1');
      expect(acl.Properties.DefaultAction).toEqual({ Allow: {} });
      const rules = acl.Properties.Rules as Cfn[];
      const groups = rules
        .filter((r) => r.Statement.ManagedRuleGroupStatement)
        .map((r) => r.Statement.ManagedRuleGroupStatement);
      expect(groups.map((g) => `${g.VendorName}:${g.Name}`).sort()).toEqual([
        'AWS:AWSManagedRulesAmazonIpReputationList',
        'AWS:AWSManagedRulesCommonRuleSet',
        'AWS:AWSManagedRulesKnownBadInputsRuleSet',
      ]);
      // Model inputs (prompts, base64 images) would trip the body rules: counted, not blocked.
      const common = groups.find((g) => g.Name === 'AWSManagedRulesCommonRuleSet');
      expect(common.RuleActionOverrides.map((o: Cfn) => o.Name)).toContain('SizeRestrictions_BODY');
      for (const o of common.RuleActionOverrides) expect(o.ActionToUse).toEqual({ Count: {} });
      for (const r of rules.filter((r) => r.Statement.ManagedRuleGroupStatement)) {
        expect(r.OverrideAction).toEqual({ None: {} });
      }
      const [rate] = rules.filter((r) => r.Statement.RateBasedStatement);
      expect(rate.Action).toEqual({ Block: {} });
      expect(rate.Statement.RateBasedStatement).toMatchObject({
        AggregateKeyType: 'IP',
        Limit: stageConfig(stage).waf!.rateLimitPerIpPer5Minutes,
        EvaluationWindowSec: 300,
      });
      expect(new Set(rules.map((r) => r.Priority)).size).toBe(rules.length);
      for (const r of rules) expect(r.VisibilityConfig.CloudWatchMetricsEnabled).toBe(true);
    },
  );

  it('logs requests to an encrypted, expiring log bucket', () => {
    const logBucketId = dist.Logging.Bucket['Fn::GetAtt'][0];
    const logBucket = template.toJSON().Resources[logBucketId];
    expect(logBucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(
      stage === 'prod' ? 90 : 14,
    );
    expect(logBucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
  });

  it('uploads the built console: hashed files immutable, the rest revalidated, nothing pruned', () => {
    const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment')) as Cfn[];
    expect(deployments).toHaveLength(2);
    const byExclude = (x: string) => deployments.find((d) => d.Properties.Exclude?.includes(x))!.Properties;
    expect(byExclude('*')).toMatchObject({ Include: ['assets/*'], Prune: false });
    expect(byExclude('*').SystemMetadata['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(byExclude('assets/*')).toMatchObject({ Prune: false, DistributionPaths: ['/index.html'] });
    expect(byExclude('assets/*').SystemMetadata['cache-control']).toBe('no-cache');
  });

  it('lets the upload function invalidate this distribution only, not every distribution', () => {
    const [distributionId] = onlyResource(template, 'AWS::CloudFront::Distribution');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p: Cfn) => p.Properties.PolicyDocument.Statement as Cfn[],
    );
    const invalidation = statements.filter((st) =>
      [st.Action].flat().some((a: string) => a.startsWith('cloudfront:')),
    );
    expect(invalidation).toHaveLength(1);
    expect([invalidation[0].Action].flat().sort()).toEqual([
      'cloudfront:CreateInvalidation',
      'cloudfront:GetInvalidation',
    ]);
    const resource = JSON.stringify(invalidation[0].Resource);
    expect(resource).toContain(distributionId);
    expect(resource).toContain(':distribution/');
    expect(invalidation[0].Resource).not.toBe('*');
  });

  it('warns at synth while publicUrl is unset (emails and cookie writes need the console origin)', () => {
    const warnings = Annotations.fromStack(stacks.api).findWarning(
      '*',
      Match.stringLikeRegexp('publicUrl is not set'),
    );
    expect(warnings).toHaveLength(stageConfig(stage).publicUrl ? 0 : 1);
  });
});

describe('console routing rules', () => {
  it("passes the viewer's address, replacing one the viewer sent", () => {
    const handler = new Function(`${viewerAddressFunctionCode()}\nreturn handler;`)() as (event: Cfn) => Cfn;
    const request = handler({
      viewer: { ip: '203.0.113.7' },
      request: { uri: '/v1/models', method: 'GET', headers: { [VIEWER_IP_HEADER]: { value: '10.0.0.1' } } },
    });
    expect(request.headers[VIEWER_IP_HEADER]).toEqual({ value: '203.0.113.7' });
    expect(request.uri).toBe('/v1/models');
  });

  it('rewrites console pages to index.html and leaves files and API paths alone', () => {
    for (const page of [...consolePages, '/keys/', '/operator/tenants/ten_1', '/operator/models']) {
      expect(rewrite(page), page).toBe('/index.html');
    }
    for (const other of [
      '/assets/index-abc.js',
      '/favicon.svg',
      '/v1/models',
      '/account',
      '/nope',
      '/keysx',
      '/constructor',
    ]) {
      expect(rewrite(other), other).toBe(other);
      expect(isConsolePage(other), other).toBe(false);
    }
  });

  it('agrees with the local server on every page (one list)', () => {
    for (const page of [...consolePages, '/operator/x', '/login/', '/a', '/operatorx']) {
      expect(rewrite(page) === '/index.html', page).toBe(isConsolePage(page));
    }
  });

  it('gives no console page to the API and no API path to the console', () => {
    for (const page of [...consolePages, '/operator/tenants']) {
      for (const pattern of [...apiPathPatterns, ...streamingPathPatterns]) {
        expect(matchesPathPattern(pattern, page), `${pattern} ${page}`).toBe(false);
      }
    }
    expect(matchesPathPattern('/v1/*', '/v1/chat/completions')).toBe(true);
    expect(matchesPathPattern('/account', '/accounts')).toBe(false);
  });

  it('serves a custom domain with its certificate and TLS 1.2, and makes it the public URL', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123';
    const withDomain =
      (names: string[], arn = certificateArn) =>
      (c: StageConfig) => ({
        ...c,
        console: { domain: { names, certificateArn: arn } },
      });
    const custom = buildApp('dev', {
      ...testEnv,
      bundling: false,
      configure: withDomain(['console.example.com']),
    });
    expect(custom.config.publicUrl).toBe('https://console.example.com');
    const dist = onlyResource(Template.fromStack(custom.console), 'AWS::CloudFront::Distribution')[1]
      .Properties.DistributionConfig;
    expect(dist.Aliases).toEqual(['console.example.com']);
    expect(dist.ViewerCertificate).toMatchObject({
      AcmCertificateArn: certificateArn,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    const fn = onlyResource(Template.fromStack(custom.api), 'AWS::Lambda::Function', {
      FunctionName: 'tollgate-dev-api-console',
    })[1];
    expect(fn.Properties.Environment.Variables.PUBLIC_URL).toBe('https://console.example.com');
    expect(
      Annotations.fromStack(custom.api).findWarning('*', Match.stringLikeRegexp('publicUrl')),
    ).toHaveLength(0);
    // No TLS acknowledgment with a domain: nothing to accept.
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(custom.console);
    expect(report.violations).toEqual([]);

    expect(() =>
      buildApp('dev', {
        ...testEnv,
        bundling: false,
        configure: withDomain(['console.example.com']),
        overrides: { publicUrl: 'https://other.example.com' },
      }),
    ).toThrow(/publicUrl must be https:\/\/console.example.com/);
    expect(() =>
      buildApp('dev', {
        ...testEnv,
        bundling: false,
        configure: withDomain(['x.example.com'], 'arn:aws:acm:eu-west-1:123456789012:certificate/x'),
      }),
    ).toThrow(/us-east-1/);
  });

  it('outside us-east-1, keeps the web ACL in a us-east-1 stack of its own, read across regions', () => {
    const stacks = buildApp('prod', {
      ...testEnv,
      region: 'eu-west-1',
      bundling: false,
      overrides: { models: false },
    });
    expect(stacks.waf).toBeDefined();
    expect(stacks.waf!.region).toBe('us-east-1');
    expect(stacks.waf!.stackName).toBe('Tollgate-Prod-Waf');
    const waf = Template.fromStack(stacks.waf!);
    waf.resourceCountIs('AWS::WAFv2::WebACL', 1);
    waf.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' });
    const consoleTemplate = Template.fromStack(stacks.console);
    consoleTemplate.resourceCountIs('AWS::WAFv2::WebACL', 0);
    const [, distribution] = onlyResource(consoleTemplate, 'AWS::CloudFront::Distribution');
    // Read from the SSM parameter the WAF stack's writer puts in eu-west-1.
    expect(JSON.stringify(distribution.Properties.DistributionConfig.WebACLId)).toMatch(
      /ExportsReader|Fn::GetAtt/,
    );
    expect(stacks.console.region).toBe('eu-west-1');
    // A stage without waf makes no such stack.
    expect(buildApp('dev', { ...testEnv, region: 'eu-west-1', bundling: false }).waf).toBeUndefined();
  });

  it('passes -c publicUrl= to the API and the jobs', () => {
    const app = buildApp('dev', {
      ...testEnv,
      bundling: false,
      overrides: { publicUrl: 'https://d111.cloudfront.net' },
    });
    for (const [stack, name] of [
      [app.api, 'tollgate-dev-api-data'],
      [app.api, 'tollgate-dev-api-stream'],
      [app.api, 'tollgate-dev-api-console'],
      [app.api, 'tollgate-dev-api-billing'],
      [app.api, 'tollgate-dev-api-docs'],
      [app.jobs, 'tollgate-dev-billing-sync'],
    ] as const) {
      const fn = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function', { FunctionName: name })[1];
      expect(fn.Properties.Environment.Variables.PUBLIC_URL, name).toBe('https://d111.cloudfront.net');
    }
  });

  it('refuses a publicUrl that is not an https origin', () => {
    for (const bad of ['http://console.example.com', 'https://x.example.com/app', 'nope']) {
      expect(() => withOverrides(stageConfig('dev'), { publicUrl: bad }), bad).toThrow(/publicUrl/);
    }
  });

  it('stops the synth with the fix when the console is not built', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'tollgate-no-web-'));
    try {
      expect(() => buildApp('dev', { ...testEnv, bundling: false, webDist: empty })).toThrow(
        /npm run build:web/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
