import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import { accessLogFields, apiTableActions } from '../../infra/stacks/api-stack';
import { type TableId, tableDefinitions, tableName } from '../../shared/db/tables';
import { asArray, type Cfn, onlyResource, policyStatements, render, templates, testEnv } from './helpers';

const ids = Object.keys(tableDefinitions) as TableId[];
const sagemakerActions = ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'];

describe.each(stages)('api stack (%s)', (stage) => {
  const config = stageConfig(stage);
  const { api, data, stacks } = templates(stage);
  const [functionId, fn] = onlyResource(api, 'AWS::Lambda::Function', {
    FunctionName: `tollgate-${stage}-api`,
  });

  /** `${import:<export>}` -> physical table name, through the data stack's exports (Ref or Arn). */
  const tableByImport = new Map<string, string>();
  for (const output of Object.values(data.findOutputs('*')) as Cfn[]) {
    const logicalId = output.Value['Fn::GetAtt']?.[0] ?? output.Value.Ref;
    const resource = data.toJSON().Resources[logicalId];
    if (resource?.Type !== 'AWS::DynamoDB::GlobalTable') continue;
    tableByImport.set(`\${import:${output.Export.Name}}`, resource.Properties.TableName);
  }

  it('is named Tollgate-<Stage>-Api', () => {
    expect(stacks.api.stackName).toBe(`Tollgate-${stage === 'dev' ? 'Dev' : 'Prod'}-Api`);
    expect(stacks.api.account).toBe(testEnv.account);
    expect(stacks.api.region).toBe(testEnv.region);
  });

  it('runs the API on Node 24, arm64, with the stage config', () => {
    expect(fn.Properties).toMatchObject({
      FunctionName: `tollgate-${stage}-api`,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: config.apiFunction.memoryMb,
      Timeout: config.apiFunction.timeoutSeconds,
    });
    const vars = fn.Properties.Environment.Variables;
    expect(vars).toMatchObject({
      STAGE: stage,
      LOG_LEVEL: config.logLevel,
      MODEL_TIMEOUT_MS: String(config.modelTimeoutMs),
      NODE_OPTIONS: '--enable-source-maps',
    });
    // Lambda sets AWS_REGION itself and rejects it as a user variable.
    expect(vars).not.toHaveProperty('AWS_REGION');
    // Names come from the data stack's tables (the code derives the same names from STAGE).
    expect(tableByImport.get(render(vars.TABLE_MAIN))).toBe(tableName(stage, 'main'));
    expect(tableByImport.get(render(vars.TABLE_USAGE))).toBe(tableName(stage, 'usage'));
  });

  it('logs to its own log group with the stage retention', () => {
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
    const logGroup = api.toJSON().Resources[logGroupId];
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBe(config.logRetentionDays);
    expect(logGroup.DeletionPolicy).toBe(stage === 'prod' ? 'Retain' : 'Delete');
  });

  it('writes an access log line per request to a second log group, without headers or bodies', () => {
    const [, stageResource] = onlyResource(api, 'AWS::ApiGatewayV2::Stage');
    const settings = stageResource.Properties.AccessLogSettings;
    const logGroupId = settings.DestinationArn['Fn::GetAtt'][0];
    expect(logGroupId).not.toBe(fn.Properties.LoggingConfig.LogGroup.Ref);
    const logGroup = api.toJSON().Resources[logGroupId];
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBe(config.logRetentionDays);
    const format = JSON.parse(settings.Format);
    expect(format).toEqual(accessLogFields);
    expect(Object.values(format).join(' ')).not.toMatch(/header|body|authorization/i);
    api.resourceCountIs('AWS::Logs::LogGroup', 2);
  });

  it('uses a role with no managed policies (no account-wide log access)', () => {
    const [roleId, role] = onlyResource(api, 'AWS::IAM::Role');
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  });

  it('grants nothing on a wildcard resource', () => {
    const statements = policyStatements(api);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const resource of asArray(statement.Resource)) {
        expect(render(resource)).not.toBe('*');
      }
    }
  });

  it("may invoke only this stage's SageMaker endpoints", () => {
    const statements = policyStatements(api).filter((s) =>
      asArray<string>(s.Action).some((a) => a.startsWith('sagemaker:')),
    );
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    expect(statement.Effect).toBe('Allow');
    expect([...asArray<string>(statement.Action)].sort()).toEqual(sagemakerActions);
    expect(asArray(statement.Resource).map(render)).toEqual([
      `arn:\${AWS::Partition}:sagemaker:${testEnv.region}:${testEnv.account}:endpoint/tollgate-${stage}-*`,
    ]);
  });

  it('has data access to exactly the two tables and their indexes, by name', () => {
    const statements = policyStatements(api).filter((s) =>
      asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')),
    );
    expect(statements.length).toBeGreaterThan(0);
    const actions = new Set(statements.flatMap((s) => asArray<string>(s.Action)));
    expect([...actions].sort()).toEqual([...apiTableActions].sort());
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']) {
      expect(actions).toContain(action);
    }
    // Data-plane only: no table management, no scans, no stream reads.
    for (const action of actions) {
      expect(action).not.toMatch(
        /^dynamodb:(\*|CreateTable|DeleteTable|UpdateTable|Scan|GetRecords|GetShardIterator)$/,
      );
    }

    const resources = new Set(statements.flatMap((s) => asArray(s.Resource).map(render)));
    const expected = new Set<string>();
    for (const resource of resources) {
      const match = /^(\$\{import:[^}]+\})(\/index\/[\w.-]+)?$/.exec(resource);
      expect(match, `unexpected DynamoDB resource ${resource}`).not.toBeNull();
      const name = tableByImport.get(match![1]!);
      expect(name, `resource ${resource} is not a table of the data stack`).toBeDefined();
      expected.add(`${name}${match![2] ?? ''}`);
    }
    expect([...expected].sort()).toEqual(
      ids
        .flatMap((id) => [
          tableName(stage, id),
          ...tableDefinitions[id].indexes.map((index) => `${tableName(stage, id)}/index/${index.name}`),
        ])
        .sort(),
    );
  });

  it('routes ANY / and ANY /{proxy+} of an HTTP API to the function (payload 2.0)', () => {
    const [apiId] = onlyResource(api, 'AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const integrations = api.findResources('AWS::ApiGatewayV2::Integration');
    expect(Object.keys(integrations).length).toBeGreaterThan(0);
    for (const integration of Object.values(integrations) as Cfn[]) {
      expect(integration.Properties).toMatchObject({
        ApiId: { Ref: apiId },
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    }
    const routes = Object.values(api.findResources('AWS::ApiGatewayV2::Route')) as Cfn[];
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
    for (const route of routes) {
      expect(route.Properties.ApiId).toEqual({ Ref: apiId });
      const target = render(route.Properties.Target);
      expect(target).toMatch(/^integrations\/\$\{\w+\}$/);
      expect(Object.keys(integrations)).toContain(target.slice('integrations/${'.length, -1));
    }
    // API Gateway may invoke the function (one permission per route); the only others are the
    // stream function's public Function URL (AWS wants both actions granted for it).
    const permissions = Object.values(api.findResources('AWS::Lambda::Permission')) as Cfn[];
    const byGateway = permissions.filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(byGateway).toHaveLength(routes.length);
    for (const p of byGateway) {
      expect(p.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    }
    const others = permissions.filter((p) => p.Properties.Principal !== 'apigateway.amazonaws.com');
    expect(others.map((p) => p.Properties.Action).sort()).toEqual([
      'lambda:InvokeFunction',
      'lambda:InvokeFunctionUrl',
    ]);
    for (const p of others)
      expect(p.Properties.FunctionName).not.toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
  });

  it('throttles the default stage with the stage config', () => {
    const [apiId] = onlyResource(api, 'AWS::ApiGatewayV2::Api');
    api.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: apiId },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: config.apiThrottle.rateLimit,
        ThrottlingBurstLimit: config.apiThrottle.burstLimit,
      },
    });
  });

  it('outputs the API URL and the function name', () => {
    const [apiId] = onlyResource(api, 'AWS::ApiGatewayV2::Api');
    const outputs = api.findOutputs('*');
    expect(render(outputs.ApiUrl?.Value)).toBe(
      `https://\${${apiId}}.execute-api.${testEnv.region}.\${AWS::URLSuffix}/`,
    );
    expect(outputs.ApiFunctionName?.Value).toEqual({ Ref: functionId });
  });

  it('tags resources with project and stage', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([
        { Key: 'project', Value: 'tollgate' },
        { Key: 'stage', Value: stage },
      ]),
    });
  });

  it('streams chat through a Function URL running the same app with the same role', () => {
    const [streamId, stream] = onlyResource(api, 'AWS::Lambda::Function', {
      FunctionName: `tollgate-${stage}-api-stream`,
    });
    expect(stream.Properties.Role).toEqual(fn.Properties.Role);
    expect(stream.Properties.Environment.Variables).toEqual(fn.Properties.Environment.Variables);
    expect(stream.Properties.Timeout).toBeGreaterThan(config.apiFunction.timeoutSeconds);
    api.hasResourceProperties('AWS::Lambda::Url', {
      TargetFunctionArn: { 'Fn::GetAtt': [streamId, 'Arn'] },
      InvokeMode: 'RESPONSE_STREAM',
      AuthType: 'NONE',
    });
    expect(Object.keys(api.findOutputs('StreamUrl'))).toHaveLength(1);
  });

  it('reads its secrets from one Secrets Manager secret, which only its role may read', () => {
    const [secretId, secret] = onlyResource(api, 'AWS::SecretsManager::Secret');
    expect(secret.Properties.Name).toBe(`tollgate/${stage}/platform`);
    expect(fn.Properties.Environment.Variables.TOLLGATE_SECRETS_ARN).toEqual({ Ref: secretId });
    const reads = policyStatements(api).filter((st) =>
      asArray(st.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Resource).toEqual({ Ref: secretId });
    // No secret value is ever a plain environment variable.
    for (const name of Object.keys(fn.Properties.Environment.Variables)) {
      expect(name).not.toMatch(/JWKS|STRIPE|SECRET_KEY|PASSWORD/);
    }
  });
});
