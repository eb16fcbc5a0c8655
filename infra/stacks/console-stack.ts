import { existsSync } from 'node:fs';
import path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  type BehaviorOptions,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { FunctionUrlOrigin, HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  type AddToPrincipalPolicyResult,
  ManagedPolicy,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IFunctionUrl } from 'aws-cdk-lib/aws-lambda';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  apiPathPatterns,
  consoleContentSecurityPolicy,
  consoleSecurityHeaders,
  streamingPathPatterns,
} from '../../shared/console-routes';
import { EDGE_SECRET_HEADER } from '../../shared/http/client-ip';
import type { StageConfig } from '../config';
import { consoleRewriteFunctionCode, viewerAddressFunctionCode } from '../console-edge';
import { EdgeFirewall } from '../edge-firewall';
import { nagResourceText } from '../nag';
import { cloudFrontWafRegion } from './waf-stack';

export interface ConsoleStackProps extends StackProps {
  config: StageConfig;
  /** The buffered API (API Gateway HTTP API): every API path but the streamed ones. */
  httpApi: IHttpApi;
  /** The API's response-streaming Function URL: chat completions, streamed or not. */
  streamUrl: IFunctionUrl;
  /** JSON `{ EDGE_SECRET }`: sent by the API origins, so the API believes the viewer address header. */
  edgeSecret: ISecret;
  /** The built console (`npm run build:web` -> web/dist). */
  webDist: string;
  /**
   * The web ACL's ARN when it lives in another stack (`Tollgate-<Stage>-Waf`, us-east-1). Without
   * it, a stage with `waf` set gets its web ACL in this stack, which must then be in us-east-1.
   */
  webAclArn?: string;
}

/** One year: hashed files under /assets change name when their content changes. */
const immutable = [
  CacheControl.setPublic(),
  CacheControl.maxAge(Duration.days(365)),
  CacheControl.immutable(),
];

/** Stops the synth with the fix when the console has not been built. */
export function assertConsoleBuilt(webDist: string): void {
  if (!existsSync(path.join(webDist, 'index.html'))) {
    throw new Error(
      `The console is not built: ${path.join(webDist, 'index.html')} is missing. Run \`npm run build:web\` first (\`npm run synth\` and \`npm run deploy\` do).`,
    );
  }
}

/**
 * The web console on the API's origin: a private S3 bucket (no website hosting, reachable only
 * through CloudFront's origin access control) for the static files, the API's paths routed to the
 * HTTP API uncached, and chat completions to the streaming Function URL. One origin for both keeps
 * the session cookies first-party and SameSite=Strict, and the console's CSP at `connect-src 'self'`.
 */
export class ConsoleStack extends Stack {
  readonly bucket: Bucket;
  readonly logBucket: Bucket;
  readonly distribution: Distribution;
  /** The console's origin: the custom domain when configured, else CloudFront's own. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleStackProps) {
    super(scope, id, props);
    const { config } = props;
    assertConsoleBuilt(props.webDist);

    // Access logs of the distribution and the bucket. CloudFront's standard logs are written with
    // ACLs, hence object-writer ownership on this bucket (and only this one).
    this.logBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(config.retainData ? 90 : 14) }],
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log bucket itself (CloudFront and the console bucket log here); logging its own accesses into itself would loop, and a second log bucket would only move the finding.',
    });

    this.bucket = new Bucket(this, 'ConsoleFiles', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      // Nothing here but build output, redeployed on every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const domain = config.console?.domain;
    const certificate = domain
      ? Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn)
      : undefined;

    const consoleHeaders = new ResponseHeadersPolicy(this, 'ConsoleHeaders', {
      comment: `Tollgate ${config.stage} console: CSP and security headers (shared/console-routes.ts)`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: consoleContentSecurityPolicy, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: false,
          override: true,
        },
      },
      customHeadersBehavior: {
        customHeaders: [
          {
            header: 'Cross-Origin-Opener-Policy',
            value: consoleSecurityHeaders['Cross-Origin-Opener-Policy'],
            override: true,
          },
          {
            header: 'Permissions-Policy',
            value: consoleSecurityHeaders['Permissions-Policy'],
            override: true,
          },
        ],
      },
    });
    // The API sets its own headers (the /docs page has its own inline script): only transport
    // and sniffing rules are added, and nothing the API sends is overridden.
    const apiHeaders = new ResponseHeadersPolicy(this, 'ApiHeaders', {
      comment: `Tollgate ${config.stage} API: HSTS and nosniff, the API's own headers kept`,
      securityHeadersBehavior: {
        contentTypeOptions: { override: false },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: false },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: false,
          override: false,
        },
      },
    });

    const rewrite = new EdgeFunction(this, 'ConsolePages', {
      comment: 'Console pages (client routes) are served index.html',
      code: FunctionCode.fromInline(consoleRewriteFunctionCode()),
      runtime: FunctionRuntime.JS_2_0,
    });

    // The per-IP limits (login failures, invalid keys) need the viewer's address, not the edge's:
    // this function passes it, and the origins below vouch for it with the edge secret.
    const viewerAddress = new EdgeFunction(this, 'ViewerAddress', {
      comment: "Passes the viewer's address to the API (x-tollgate-viewer-ip)",
      code: FunctionCode.fromInline(viewerAddressFunctionCode()),
      runtime: FunctionRuntime.JS_2_0,
    });
    const edgeHeaders = {
      [EDGE_SECRET_HEADER]: props.edgeSecret.secretValueFromJson('EDGE_SECRET').unsafeUnwrap(),
    };

    // API Gateway and Lambda check the Host header against their own domain: every viewer header
    // but Host goes through (cookies, Authorization, Origin for the same-origin check,
    // Idempotency-Key, Stripe-Signature), with all cookies and query strings; nothing is cached.
    const apiBehavior = (origin: BehaviorOptions['origin']): BehaviorOptions => ({
      origin,
      functionAssociations: [{ function: viewerAddress, eventType: FunctionEventType.VIEWER_REQUEST }],
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: apiHeaders,
      // A redirect would turn a POST into a GET: API callers get HTTPS or nothing.
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      // Compressing would buffer server-sent events.
      compress: false,
    });
    const httpApiOrigin = new HttpOrigin(
      `${props.httpApi.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
      {
        protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [OriginSslPolicy.TLS_V1_2],
        // API Gateway cuts integrations at 30 s; the function's own timeout is below that.
        readTimeout: Duration.seconds(30),
        customHeaders: edgeHeaders,
      },
    );
    // Function URLs with IAM auth behind origin access control need the viewer to sign a hash of
    // every POST body, which API clients do not do: the URL keeps auth NONE (the app authenticates
    // every request itself, as behind the HTTP API). The read timeout bounds the gap between two
    // streamed chunks, not the whole stream; the model timeout (25 s) bounds each gap below it.
    const streamOrigin = new FunctionUrlOrigin(props.streamUrl, {
      readTimeout: Duration.seconds(60),
      customHeaders: edgeHeaders,
    });

    const additionalBehaviors: Record<string, BehaviorOptions> = {};
    // Most specific first: CloudFront uses the first pattern that matches, in this order.
    for (const pattern of streamingPathPatterns) additionalBehaviors[pattern] = apiBehavior(streamOrigin);
    for (const pattern of apiPathPatterns) additionalBehaviors[pattern] = apiBehavior(httpApiOrigin);

    let webAclArn = props.webAclArn;
    if (!webAclArn && config.waf) {
      if (this.region !== cloudFrontWafRegion) {
        throw new Error(
          `The console's web ACL must be in ${cloudFrontWafRegion} (this stack is in ${this.region}): pass webAclArn from a WafStack`,
        );
      }
      webAclArn = new EdgeFirewall(this, 'Firewall', {
        name: `tollgate-${config.stage}-edge`,
        waf: config.waf,
      }).webAcl.attrArn;
    }

    this.distribution = new Distribution(this, 'Distribution', {
      ...(webAclArn ? { webAclId: webAclArn } : {}),
      comment: `Tollgate ${config.stage} console and API`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      ...(domain && certificate
        ? {
            domainNames: domain.names,
            certificate,
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: consoleHeaders,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        compress: true,
        functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors,
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction: the platform sells to developers anywhere; sanctions screening happens at signup and in Stripe, not by edge location.',
    });
    if (!webAclArn) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason:
          'This stage runs without a WAF web ACL (`waf` unset in infra/config.ts; prod sets it): about $9 a month plus $0.60 per million requests saved on a stage that is not public. The API still enforces per-tenant, per-key and per-login limits, and API Gateway throttles the stage.',
      });
    }
    if (!domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          "Without a custom domain the distribution serves CloudFront's default *.cloudfront.net certificate, whose minimum TLS version cannot be set; configure console.domain (with an ACM certificate) to enforce TLS 1.2.",
      });
    }

    // Two uploads: hashed files cached for a year, everything else (index.html, the favicon)
    // revalidated on every load so a deploy shows at once. Neither prunes, so a tab opened before
    // a deploy still finds the chunks it was built with.
    // The upload function's role is ours, not CDK's: CDK grants the invalidation on `*`, and this
    // role narrows it to this stack's distribution (both actions take a distribution ARN).
    const deployRole = new DeploymentRole(this, 'DeployRole', this.distribution.distributionArn);
    new BucketDeployment(this, 'DeployAssets', {
      role: deployRole,
      destinationBucket: this.bucket,
      sources: [Source.asset(props.webDist)],
      exclude: ['*'],
      include: ['assets/*'],
      cacheControl: immutable,
      prune: false,
    });
    new BucketDeployment(this, 'DeployPages', {
      role: deployRole,
      destinationBucket: this.bucket,
      sources: [Source.asset(props.webDist)],
      exclude: ['assets/*'],
      cacheControl: [CacheControl.noCache()],
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/index.html'],
    });

    this.acknowledgeDeploymentFunction(deployRole);

    this.url = domain ? `https://${domain.names[0]}` : `https://${this.distribution.distributionDomainName}`;
    new CfnOutput(this, 'ConsoleUrl', {
      value: this.url,
      description:
        'The console and the API on one origin; set it as publicUrl (-c publicUrl=) if it is not already',
    });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
  }

  /**
   * BucketDeployment runs CDK's own singleton function (a custom resource, at deploy time only,
   * never on a request path) under `DeployRole`; what it may touch is this stack's bucket, the CDK
   * asset bucket and this stack's distribution. Each finding is accepted here, by name.
   */
  private acknowledgeDeploymentFunction(role: Role): void {
    const singleton = this.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!singleton)
      throw new Error(
        'BucketDeployment no longer creates its singleton function: review the nag acknowledgments',
      );
    const deployOnly =
      "The role of CDK's BucketDeployment function, which runs only while CloudFormation deploys this stack (copying the built console from the CDK asset bucket into the console bucket, then invalidating /index.html of this stack's distribution).";
    // A literal (`aws`) with the partition-literals feature flag and a known region, else a token.
    const partition = nagResourceText(this, this.partition);
    const findings: Record<string, string> = {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${deployOnly} The managed policy only lets it write its own logs.`,
      'AwsSolutions-IAM5[Action::s3:GetObject*]': `${deployOnly} It reads the asset zip and the bucket's objects.`,
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': `${deployOnly} It reads bucket attributes of its two buckets only.`,
      'AwsSolutions-IAM5[Action::s3:List*]': `${deployOnly} It lists its two buckets only, to sync files.`,
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': `${deployOnly} Deletes are limited to the console bucket.`,
      'AwsSolutions-IAM5[Action::s3:Abort*]': `${deployOnly} Aborts its own multipart uploads in the console bucket.`,
      [`AwsSolutions-IAM5[Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-${nagResourceText(this, this.account)}-${nagResourceText(this, this.region)}/*]`]: `${deployOnly} The CDK asset bucket's objects (the console zip is one of them).`,
      [`AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`]: `${deployOnly} Every object of the console bucket: it replaces the console's files.`,
    };
    for (const [id, reason] of Object.entries(findings)) Validations.of(role).acknowledge({ id, reason });
    Validations.of(singleton).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "CDK's BucketDeployment function, which runs only while CloudFormation deploys this stack: CDK pins its runtime version; it runs once per deploy and serves no requests.",
    });
  }
}

/**
 * The role of the console upload function. BucketDeployment grants `cloudfront:CreateInvalidation`
 * and `GetInvalidation` on `*` to whatever role its function has; this role takes every other
 * grant as it comes and scopes CloudFront's to one distribution.
 */
class DeploymentRole extends Role {
  private readonly distributionArn: string;

  constructor(scope: Construct, id: string, distributionArn: string) {
    super(scope, id, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
      description:
        'Copies the built console into its bucket and invalidates its distribution, at deploy time',
    });
    this.distributionArn = distributionArn;
  }

  override addToPrincipalPolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    if (!statement.actions.some((action) => action.startsWith('cloudfront:'))) {
      return super.addToPrincipalPolicy(statement);
    }
    return super.addToPrincipalPolicy(
      new PolicyStatement({
        effect: statement.effect,
        actions: statement.actions,
        resources: [this.distributionArn],
      }),
    );
  }
}
