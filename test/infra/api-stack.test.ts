import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stageConfig, stages } from '../../infra/config';
import {
  type ApiFunctionId,
  accessLogFields,
  apiFunctions,
  apiTableActions,
  batchPlaneObjectActions,
  dataPlaneDeletablePartitions,
  dataPlaneTableActions,
} from '../../infra/stacks/api-stack';
import { buildApp } from '../../infra/tollgate';
import { type ApiPlane, planeRoutePaths } from '../../shared/api-planes';
import { keys } from '../../shared/db/keys';
import { type TableId, tableDefinitions, tableName } from '../../shared/db/tables';
import { asArray, type Cfn, onlyResource, render, templates, testEnv } from './helpers';

const ids = Object.keys(tableDefinitions) as TableId[];
const sagemakerActions = ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'];
const functionIds = Object.keys(apiFunctions) as ApiFunctionId[];

describe.each(stages)('api stack (%s)', (stage) => {
  const config = stageConfig(stage);
  const { api, data, stacks } = templates(stage);
  const resources = api.toJSON().Resources as Record<string, Cfn>;
  const fns = Object.fromEntries(
    functionIds.map((fid) => [
      fid,
      onlyResource(api, 'AWS::Lambda::Function', {
        FunctionName: `tollgate-${stage}-${apiFunctions[fid].name}`,
      }),
    ]),
  ) as Record<ApiFunctionId, [string, Cfn]>;
  const roleOf = (fid: ApiFunctionId): string => fns[fid][1].Properties.Role['Fn::GetAtt'][0];
  const planeRole = (plane: ApiPlane): string => roleOf(plane);

  /** The statements of the policies attached to one role. */
  const statementsOf = (roleId: string): Cfn[] =>
    (Object.values(api.findResources('AWS::IAM::Policy')) as Cfn[])
      .filter((p) => asArray(p.Properties.Roles).some((r: Cfn) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Cfn[]);
  const allStatements = (): Cfn[] =>
    (Object.values(api.findResources('AWS::IAM::Policy')) as Cfn[]).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Cfn[],
    );

  /** `${import:<export>}` -> physical table name, through the data stack's exports (Ref or Arn). */
  const tableByImport = new Map<string, string>();
  for (const output of Object.values(data.findOutputs('*')) as Cfn[]) {
    const logicalId = output.Value['Fn::GetAtt']?.[0] ?? output.Value.Ref;
    const resource = data.toJSON().Resources[logicalId];
    if (resource?.Type !== 'AWS::DynamoDB::GlobalTable') continue;
    tableByImport.set(`\${import:${output.Export.Name}}`, resource.Properties.TableName);
  }

  /** `${import:<export>}` -> the data stack's resource it exports: its logical id, and the attribute (none for a Ref). */
  const dataExport = new Map<string, { id: string; attr?: string }>();
  for (const output of Object.values(data.findOutputs('*')) as Cfn[]) {
    const getAtt = output.Value['Fn::GetAtt'];
    dataExport.set(
      `\${import:${output.Export.Name}}`,
      getAtt ? { id: getAtt[0], attr: getAtt[1] } : { id: output.Value.Ref },
    );
  }

  it('is named Tollgate-<Stage>-Api', () => {
    expect(stacks.api.stackName).toBe(`Tollgate-${stage === 'dev' ? 'Dev' : 'Prod'}-Api`);
    expect(stacks.api.account).toBe(testEnv.account);
    expect(stacks.api.region).toBe(testEnv.region);
  });

  it('runs one function per plane and the streaming twin, nothing else', () => {
    expect(Object.keys(api.findResources('AWS::Lambda::Function')).sort()).toEqual(
      functionIds.map((fid) => fns[fid][0]).sort(),
    );
  });

  it.each(functionIds)('runs %s on Node 24, arm64, with the stage config', (fid) => {
    const fn = fns[fid][1];
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: config.apiFunction.memoryMb,
    });
    if (fid === 'stream') expect(fn.Properties.Timeout).toBeGreaterThan(config.apiFunction.timeoutSeconds);
    else expect(fn.Properties.Timeout).toBe(config.apiFunction.timeoutSeconds);
    const vars = fn.Properties.Environment.Variables;
    expect(vars).toMatchObject({
      STAGE: stage,
      LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    });
    // Lambda sets AWS_REGION itself and rejects it as a user variable.
    expect(vars).not.toHaveProperty('AWS_REGION');
    // No secret value is ever a plain environment variable.
    for (const name of Object.keys(vars)) expect(name).not.toMatch(/JWKS|STRIPE|SECRET_KEY|PASSWORD/);
    if (apiFunctions[fid].plane === 'docs') {
      expect(vars).not.toHaveProperty('TABLE_MAIN');
      return;
    }
    // Names come from the data stack's tables (the code derives the same names from STAGE).
    expect(tableByImport.get(render(vars.TABLE_MAIN))).toBe(tableName(stage, 'main'));
    expect(tableByImport.get(render(vars.TABLE_USAGE))).toBe(tableName(stage, 'usage'));
    if (apiFunctions[fid].plane === 'data') expect(vars.MODEL_TIMEOUT_MS).toBe(String(config.modelTimeoutMs));
  });

  it('logs each function to its own log group with the stage retention, and requests to one more', () => {
    const groups = functionIds.map((fid) => fns[fid][1].Properties.LoggingConfig.LogGroup.Ref);
    expect(new Set(groups).size).toBe(functionIds.length);
    for (const id of groups) {
      expect(resources[id].Type).toBe('AWS::Logs::LogGroup');
      expect(resources[id].Properties.RetentionInDays).toBe(config.logRetentionDays);
      expect(resources[id].DeletionPolicy).toBe(stage === 'prod' ? 'Retain' : 'Delete');
    }
    const [, stageResource] = onlyResource(api, 'AWS::ApiGatewayV2::Stage');
    const settings = stageResource.Properties.AccessLogSettings;
    const accessId = settings.DestinationArn['Fn::GetAtt'][0];
    expect(groups).not.toContain(accessId);
    expect(resources[accessId].Properties.RetentionInDays).toBe(config.logRetentionDays);
    const format = JSON.parse(settings.Format);
    expect(format).toEqual(accessLogFields);
    expect(Object.values(format).join(' ')).not.toMatch(/header|body|authorization/i);
    api.resourceCountIs('AWS::Logs::LogGroup', functionIds.length + 1);
  });

  it('gives each plane its own role, with no managed policies, writing only to its own logs', () => {
    const roles = Object.entries(api.findResources('AWS::IAM::Role')) as [string, Cfn][];
    expect(roles).toHaveLength(5);
    expect(roleOf('stream')).toBe(roleOf('data'));
    expect(
      new Set(['data', 'console', 'billing', 'docs', 'batch'].map((p) => planeRole(p as ApiPlane))).size,
    ).toBe(5);
    for (const [, role] of roles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
    for (const fid of functionIds) {
      const logs = statementsOf(roleOf(fid)).filter((s) =>
        asArray<string>(s.Action).includes('logs:PutLogEvents'),
      );
      const own = fns[fid][1].Properties.LoggingConfig.LogGroup.Ref;
      expect(
        logs.flatMap((s) => asArray(s.Resource).map(render)).some((r) => r.includes(own)),
        fid,
      ).toBe(true);
    }
    const docsLogs = statementsOf(planeRole('docs'))
      .filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('logs:')))
      .flatMap((s) => asArray(s.Resource).map(render));
    expect(docsLogs.every((r) => r.includes(fns.docs[1].Properties.LoggingConfig.LogGroup.Ref))).toBe(true);
  });

  it('grants nothing on a wildcard resource but the X-Ray writes of tracing (which take only *)', () => {
    const statements = allStatements();
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      if (asArray(statement.Resource).some((r) => render(r) === '*')) {
        expect(asArray<string>(statement.Action).sort()).toEqual([
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ]);
      }
    }
  });

  it("lets the data plane alone invoke models, and only this stage's endpoints", () => {
    const invoking = (roleId: string) =>
      statementsOf(roleId).filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('sagemaker:')));
    for (const plane of ['console', 'billing', 'docs', 'batch'] as const)
      expect(invoking(planeRole(plane)), plane).toEqual([]);
    const statements = invoking(planeRole('data'));
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    expect(statement.Effect).toBe('Allow');
    expect([...asArray<string>(statement.Action)].sort()).toEqual(sagemakerActions);
    expect(asArray(statement.Resource).map(render)).toEqual([
      `arn:aws:sagemaker:${testEnv.region}:${testEnv.account}:endpoint/tollgate-${stage}-*`,
    ]);
    expect(
      allStatements().filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('sagemaker:'))),
    ).toHaveLength(1);
  });

  it.each(['data', 'console', 'billing', 'batch'] as const)(
    '%s plane: data access to exactly the two tables and their indexes, by name',
    (plane) => {
      const statements = statementsOf(planeRole(plane)).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')),
      );
      expect(statements.length).toBeGreaterThan(0);
      const actions = new Set(statements.flatMap((s) => asArray<string>(s.Action)));
      const granted = plane === 'data' ? [...dataPlaneTableActions, 'dynamodb:DeleteItem'] : apiTableActions;
      expect([...actions].sort()).toEqual([...granted].sort());
      // Items and queries only: no table management, no scans, no stream reads.
      for (const action of actions) {
        expect(action).not.toMatch(
          /^dynamodb:(\*|CreateTable|DeleteTable|UpdateTable|Scan|GetRecords|GetShardIterator)$/,
        );
      }
      const expected = new Set<string>();
      for (const resource of new Set(statements.flatMap((s) => asArray(s.Resource).map(render)))) {
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
    },
  );

  it('traces every API function (X-Ray, active), with only the X-Ray write actions on *', () => {
    for (const fid of functionIds) {
      expect(fns[fid][1].Properties.TracingConfig, fid).toEqual({ Mode: 'Active' });
    }
    for (const plane of ['data', 'console', 'billing', 'docs', 'batch'] as const) {
      const onStar = statementsOf(planeRole(plane)).filter((s) => asArray(s.Resource).includes('*'));
      expect(onStar.flatMap((s) => asArray<string>(s.Action)).sort(), plane).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    }
  });

  it('reserves concurrency for every API function, from the stage config', () => {
    for (const fid of functionIds) {
      const reserved = fns[fid][1].Properties.ReservedConcurrentExecutions;
      expect(reserved, fid).toBe(config.concurrency.api[fid]);
      expect(reserved, fid).toBeGreaterThan(0);
    }
  });

  it('lets the data plane delete only its quota reservations: never tenants or API keys', () => {
    const deleting = statementsOf(planeRole('data')).filter((s) =>
      asArray<string>(s.Action).some((a) => a === 'dynamodb:DeleteItem' || a === 'dynamodb:*'),
    );
    expect(deleting).toHaveLength(1);
    const [statement] = deleting;
    expect(statement.Effect).toBe('Allow');
    expect(asArray(statement.Action)).toEqual(['dynamodb:DeleteItem']);
    expect(
      asArray(statement.Resource)
        .map(render)
        .map((r) => tableByImport.get(r)),
    ).toEqual([tableName(stage, 'main')]);
    // By partition key: QUOTA#<tenant> only; TENANT# (tenants, API keys) and APIKEYHASH# are out.
    expect(statement.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...dataPlaneDeletablePartitions] },
    });
    expect(dataPlaneDeletablePartitions).toEqual(['QUOTA#*']);
    expect(keys.reservation('ten_1', 'req_1').pk).toBe('QUOTA#ten_1');
    expect(keys.tenant('ten_1').pk).not.toMatch(/^QUOTA#/);
    expect(keys.apiKeyHash('h').pk).not.toMatch(/^QUOTA#/);
    // BatchWriteItem would delete through DeleteRequest, around the condition above.
    const all = statementsOf(planeRole('data')).flatMap((s) => asArray<string>(s.Action));
    expect(all).not.toContain('dynamodb:BatchWriteItem');
  });

  it('gives the docs function no data, no secret, no email: only its logs', () => {
    const actions = statementsOf(planeRole('docs')).flatMap((s) => asArray<string>(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    // Its logs, and its trace segments.
    for (const action of actions)
      expect(action).toMatch(/^(logs:|xray:Put(TraceSegments|TelemetryRecords)$)/);
  });

  it("keeps Stripe's keys in a secret only the billing plane reads, and the session keys from the data plane", () => {
    const [platformId, platform] = onlyResource(api, 'AWS::SecretsManager::Secret', {
      Name: `tollgate/${stage}/platform`,
    });
    const [stripeId] = onlyResource(api, 'AWS::SecretsManager::Secret', { Name: `tollgate/${stage}/stripe` });
    // The edge secret is generated (nobody types it), as the JSON object the functions read.
    const [edgeId] = onlyResource(api, 'AWS::SecretsManager::Secret', {
      Name: `tollgate/${stage}/edge`,
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{}',
        GenerateStringKey: 'EDGE_SECRET',
      }),
    });
    expect(platform.Properties.Description).not.toMatch(/stripe/i);
    api.resourceCountIs('AWS::SecretsManager::Secret', 3);
    const readers = (secretId: string) =>
      (['data', 'console', 'billing', 'docs', 'batch'] as const).filter((plane) =>
        statementsOf(planeRole(plane)).some(
          (s) =>
            asArray(s.Action).includes('secretsmanager:GetSecretValue') &&
            asArray(s.Resource).some((r: Cfn) => r.Ref === secretId),
        ),
      );
    expect(readers(stripeId)).toEqual(['billing']);
    expect(readers(platformId)).toEqual(['console', 'billing', 'batch']);
    // The planes with per-IP limits (invalid keys, login failures) read the edge secret.
    expect(readers(edgeId)).toEqual(['data', 'console', 'batch']);
    // Each function is told which secrets to read; the data plane only the edge's, the docs none.
    const secretsArn = (fid: ApiFunctionId) =>
      fns[fid][1].Properties.Environment.Variables.TOLLGATE_SECRETS_ARN;
    expect(secretsArn('data')).toEqual({ Ref: edgeId });
    expect(secretsArn('stream')).toEqual({ Ref: edgeId });
    expect(secretsArn('docs')).toBeUndefined();
    expect(render(secretsArn('console'))).toBe(`\${${platformId}},\${${edgeId}}`);
    expect(render(secretsArn('billing'))).toBe(`\${${platformId}},\${${stripeId}}`);
    expect(render(secretsArn('batch'))).toBe(`\${${platformId}},\${${edgeId}}`);
  });

  describe('the batch plane', () => {
    const [bucketId, bucket] = onlyResource(data, 'AWS::S3::Bucket');
    const [queueId] = onlyResource(data, 'AWS::SQS::Queue', { QueueName: `tollgate-${stage}-batch-work` });
    const statements = () => statementsOf(planeRole('batch'));
    const on = (prefix: string) => (s: Cfn) => asArray<string>(s.Action).some((a) => a.startsWith(prefix));

    it("is told the data stack's batch bucket and queue; no other API function is", () => {
      const vars = fns.batch[1].Properties.Environment.Variables;
      expect(dataExport.get(render(vars.BATCH_BUCKET))).toEqual({ id: bucketId });
      // A queue's Ref is its URL.
      expect(dataExport.get(render(vars.BATCH_QUEUE_URL))).toEqual({ id: queueId });
      for (const fid of functionIds.filter((f) => f !== 'batch')) {
        expect(fns[fid][1].Properties.Environment.Variables, fid).not.toHaveProperty('BATCH_BUCKET');
        expect(fns[fid][1].Properties.Environment.Variables, fid).not.toHaveProperty('BATCH_QUEUE_URL');
      }
    });

    it("reads, writes and deletes the batch bucket's objects, lists the bucket (a missing file is a 404), and nothing else of S3", () => {
      const s3 = statements()
        .filter(on('s3:'))
        .filter((st) => st.Sid === 'BatchFiles');
      expect(s3).toHaveLength(1);
      expect(asArray<string>(s3[0].Action).sort()).toEqual([
        's3:DeleteObject',
        's3:GetObject',
        's3:PutObject',
      ]);
      expect([...batchPlaneObjectActions].sort()).toEqual(asArray<string>(s3[0].Action).sort());
      // The bucket's objects by the name the data stack gives it.
      expect(bucket.Properties.BucketName).toBe(
        `tollgate-${stage}-batch-files-${testEnv.account}-${testEnv.region}`,
      );
      expect(asArray(s3[0].Resource).map(render)).toEqual([`arn:aws:s3:::${bucket.Properties.BucketName}/*`]);
      const others = statements()
        .filter(on('s3:'))
        .filter((st) => st !== s3[0]);
      expect(others).toHaveLength(1);
      expect(asArray(others[0].Action)).toEqual(['s3:ListBucket']);
      expect(asArray(others[0].Resource).map(render)).toEqual([
        `arn:aws:s3:::${bucket.Properties.BucketName}`,
      ]);
    });

    it('sends to the batch queue and does nothing else with SQS', () => {
      const sqs = statements().filter(on('sqs:'));
      expect(sqs).toHaveLength(1);
      expect(asArray(sqs[0].Action)).toEqual(['sqs:SendMessage']);
      expect(asArray(sqs[0].Resource).map((r) => dataExport.get(render(r)))).toEqual([
        { id: queueId, attr: 'Arn' },
      ]);
    });

    it('invokes no model and sends no email: its rights are logs, traces, tables, secrets, S3 and SQS', () => {
      const services = new Set(
        statements().flatMap((s) => asArray<string>(s.Action).map((a) => a.split(':')[0])),
      );
      expect([...services].sort()).toEqual(['dynamodb', 'logs', 's3', 'secretsmanager', 'sqs', 'xray']);
    });

    it('is the only API plane with rights on batch files or the batch queue', () => {
      for (const plane of ['data', 'console', 'billing', 'docs'] as const) {
        expect(
          statementsOf(planeRole(plane)).filter((s) => on('s3:')(s) || on('sqs:')(s)),
          plane,
        ).toEqual([]);
      }
    });
  });

  it('routes each plane by path to its function (payload 2.0), and everything else to the console', () => {
    const [apiId] = onlyResource(api, 'AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const integrations = api.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Cfn>;
    for (const integration of Object.values(integrations)) {
      expect(integration.Properties).toMatchObject({
        ApiId: { Ref: apiId },
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
    }
    const routes = Object.values(api.findResources('AWS::ApiGatewayV2::Route')) as Cfn[];
    const target: Record<string, string> = {};
    for (const route of routes) {
      expect(route.Properties.ApiId).toEqual({ Ref: apiId });
      const integrationId = render(route.Properties.Target).slice('integrations/${'.length, -1);
      const fnId = integrations[integrationId]!.Properties.IntegrationUri['Fn::GetAtt'][0];
      const fid = functionIds.find((f) => fns[f][0] === fnId)!;
      target[route.Properties.RouteKey] = fid;
    }
    const expected: Record<string, string> = { 'ANY /': 'console', 'ANY /{proxy+}': 'console' };
    for (const [plane, paths] of Object.entries(planeRoutePaths)) {
      for (const path of paths) expected[`ANY ${path}`] = plane;
    }
    expect(target).toEqual(expected);
    expect(target['ANY /v1/{proxy+}']).toBe('data');
    expect(target['ANY /webhooks/{proxy+}']).toBe('billing');
    expect(target['ANY /openapi.json']).toBe('docs');
    // Batch's paths under /v1 are more specific than the data plane's /v1/{proxy+}.
    for (const path of ['/v1/files', '/v1/files/{proxy+}', '/v1/batches', '/v1/batches/{proxy+}']) {
      expect(target[`ANY ${path}`], path).toBe('batch');
    }
    expect(target['ANY /account/batches/{proxy+}']).toBe('batch');
    expect(target['ANY /admin/batches']).toBe('batch');

    // API Gateway may invoke each routed function (one permission per route); the only others
    // are the stream function's public Function URL (AWS wants both actions granted for it).
    const permissions = Object.values(api.findResources('AWS::Lambda::Permission')) as Cfn[];
    const byGateway = permissions.filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(byGateway).toHaveLength(routes.length);
    const others = permissions.filter((p) => p.Properties.Principal !== 'apigateway.amazonaws.com');
    expect(others.map((p) => p.Properties.Action).sort()).toEqual([
      'lambda:InvokeFunction',
      'lambda:InvokeFunctionUrl',
    ]);
    for (const p of others)
      expect(p.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [fns.stream[0], 'Arn'] });
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

  it('outputs the API URL, the stream URL and every function name', () => {
    const [apiId] = onlyResource(api, 'AWS::ApiGatewayV2::Api');
    const outputs = api.findOutputs('*');
    expect(render(outputs.ApiUrl?.Value)).toBe(
      `https://\${${apiId}}.execute-api.${testEnv.region}.\${AWS::URLSuffix}/`,
    );
    expect(outputs.ApiDataFunctionName?.Value).toEqual({ Ref: fns.data[0] });
    expect(outputs.ApiConsoleFunctionName?.Value).toEqual({ Ref: fns.console[0] });
    expect(outputs.ApiBillingFunctionName?.Value).toEqual({ Ref: fns.billing[0] });
    expect(Object.keys(api.findOutputs('StreamUrl'))).toHaveLength(1);
  });

  it('tags resources with project and stage', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([
        { Key: 'project', Value: 'tollgate' },
        { Key: 'stage', Value: stage },
      ]),
    });
  });

  it('streams chat through a Function URL running the data plane with its role', () => {
    const [streamId, stream] = fns.stream;
    const [, dataFn] = fns.data;
    expect(stream.Properties.Role).toEqual(dataFn.Properties.Role);
    expect(stream.Properties.Environment.Variables).toEqual(dataFn.Properties.Environment.Variables);
    api.hasResourceProperties('AWS::Lambda::Url', {
      TargetFunctionArn: { 'Fn::GetAtt': [streamId, 'Arn'] },
      InvokeMode: 'RESPONSE_STREAM',
      AuthType: 'NONE',
    });
  });

  it('lets the data and console planes, the billing job and the batch worker send email, and the billing and batch planes not', () => {
    const withEmail = buildApp(stage, {
      ...testEnv,
      bundling: false,
      overrides: { models: false },
      configure: (c) => ({ ...c, email: { from: 'noreply@example.com', sesIdentity: 'example.com' } }),
    });
    const sendersIn = (template: Template) =>
      (Object.values(template.findResources('AWS::IAM::Policy')) as Cfn[])
        .filter((p) =>
          (p.Properties.PolicyDocument.Statement as Cfn[]).some((s) =>
            asArray(s.Action).includes('ses:SendEmail'),
          ),
        )
        .flatMap((p) => asArray(p.Properties.Roles).map((r: Cfn) => render(r)));
    const apiTemplate = Template.fromStack(withEmail.api);
    const roles = apiTemplate.findResources('AWS::IAM::Role') as Record<string, Cfn>;
    const described = (id: string) => String(roles[id.slice(2, -1)]?.Properties.Description ?? id);
    const senders = sendersIn(apiTemplate).map(described).sort();
    expect(senders).toHaveLength(2);
    expect(senders.join('; ')).toMatch(/console plane/);
    expect(senders.join('; ')).toMatch(/data plane/);
    expect(senders.join('; ')).not.toMatch(/billing/);
    expect(senders.join('; ')).not.toMatch(/batch/);
    const jobs = Template.fromStack(withEmail.jobs);
    const jobRoles = jobs.findResources('AWS::IAM::Role') as Record<string, Cfn>;
    expect(
      sendersIn(jobs)
        .map((id) => String(jobRoles[id.slice(2, -1)]?.Properties.Description))
        .sort(),
    ).toEqual([`Tollgate ${stage} batch worker`, `Tollgate ${stage} billing sync`]);
  });
});
