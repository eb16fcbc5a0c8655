import { describe, expect, it } from 'vitest';
import { stages } from '../../infra/config';
import { batchBucketName, batchFileRetentionDays, streamView } from '../../infra/stacks/data-stack';
import { STREAM_VIEW } from '../../shared/db/create-tables';
import { type TableId, tableDefinitions, tableName } from '../../shared/db/tables';
import { type Cfn, onlyResource, templates, testEnv } from './helpers';

const ids = Object.keys(tableDefinitions) as TableId[];

describe.each(stages)('data stack (%s)', (stage) => {
  const { data, stacks } = templates(stage);
  const table = (id: TableId): Cfn =>
    onlyResource(data, 'AWS::DynamoDB::GlobalTable', { TableName: tableName(stage, id) })[1];

  it('is named Tollgate-<Stage>-Data and creates exactly the declared tables', () => {
    expect(stacks.data.stackName).toBe(`Tollgate-${stage === 'dev' ? 'Dev' : 'Prod'}-Data`);
    data.resourceCountIs('AWS::DynamoDB::GlobalTable', ids.length);
    data.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(Object.keys(stacks.data.tables).sort()).toEqual([...ids].sort());
  });

  it.each(ids)('table %s has the key schema, indexes, TTL and stream of tableDefinitions', (id) => {
    const def = tableDefinitions[id];
    const props = table(id).Properties;

    expect(props.KeySchema).toEqual([
      { AttributeName: def.partitionKey, KeyType: 'HASH' },
      { AttributeName: def.sortKey, KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual(
      def.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    const keyNames = new Set([
      def.partitionKey,
      def.sortKey,
      ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ]);
    expect(props.AttributeDefinitions).toHaveLength(keyNames.size);
    for (const name of keyNames) {
      expect(props.AttributeDefinitions).toContainEqual({ AttributeName: name, AttributeType: 'S' });
    }
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
    if (def.stream) {
      expect(props.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    } else {
      expect(props.StreamSpecification).toBeUndefined();
    }
  });

  it('streams both images of the usage table, the view the local runner creates too', () => {
    // The consumer counts a change as its new image less its old one (a void, a stream's close).
    expect(tableDefinitions.usage.stream).toBe(true);
    expect(streamView).toBe('NEW_AND_OLD_IMAGES');
    // shared/db/create-tables.ts imports the SDK, so the stack keeps its own constant; equal here.
    expect(streamView).toBe(STREAM_VIEW);
    expect(table('usage').Properties.StreamSpecification).toEqual({ StreamViewType: STREAM_VIEW });
    expect(table('main').Properties.StreamSpecification).toBeUndefined();
  });

  it('exports the usage stream ARN for the Jobs stack, which maps the usage consumer onto it', () => {
    const [usageId] = onlyResource(data, 'AWS::DynamoDB::GlobalTable', {
      TableName: tableName(stage, 'usage'),
    });
    const outputs = Object.values(data.toJSON().Outputs ?? {}) as Cfn[];
    expect(
      outputs.filter(
        (o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [usageId, 'StreamArn'] }),
      ),
    ).toHaveLength(1);
  });

  it.each(ids)('table %s is on-demand, encrypted, with point-in-time recovery', (id) => {
    const props = table(id).Properties;
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(props.Replicas).toHaveLength(1);
    expect(props.Replicas[0].Region).toBe('us-east-1');
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it.each(ids)('table %s is protected in prod and disposable in dev', (id) => {
    const resource = table(id);
    if (stage === 'prod') {
      expect(resource.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
    } else {
      expect(resource.Properties.Replicas[0].DeletionProtectionEnabled).not.toBe(true);
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.UpdateReplacePolicy).toBe('Delete');
    }
  });

  it('tags the tables with project and stage', () => {
    for (const id of ids) {
      const tags = table(id).Properties.Replicas[0].Tags;
      expect(tags).toContainEqual({ Key: 'project', Value: 'tollgate' });
      expect(tags).toContainEqual({ Key: 'stage', Value: stage });
    }
  });

  it('protects the prod stack itself from deletion', () => {
    expect(stacks.data.terminationProtection).toBe(stage === 'prod');
  });

  describe('the batch bucket', () => {
    const [bucketId, bucket] = onlyResource(data, 'AWS::S3::Bucket');
    const props = bucket.Properties;

    it("is named for the stage, the account and the region (the roles' policies name it)", () => {
      expect(props.BucketName).toBe(batchBucketName(stage, testEnv.account, testEnv.region));
      expect(props.BucketName).toBe(`tollgate-${stage}-batch-files-123456789012-us-east-1`);
    });

    it('blocks every public access, owns its objects (no ACLs) and encrypts them with S3-managed keys', () => {
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(props.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    });

    it('refuses requests without TLS', () => {
      const [, policy] = onlyResource(data, 'AWS::S3::BucketPolicy');
      expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      // Nothing in the policy allows anyone: the two roles' own policies grant access.
      const allows = (policy.Properties.PolicyDocument.Statement as Cfn[]).filter(
        (st) => st.Effect === 'Allow',
      );
      expect(allows).toEqual([]);
    });

    it(`keeps no old versions and expires files after ${batchFileRetentionDays} days`, () => {
      expect(props.VersioningConfiguration).toBeUndefined();
      expect(batchFileRetentionDays).toBe(30);
      expect(props.LifecycleConfiguration.Rules).toEqual([
        {
          Id: 'expire-batch-files',
          Status: 'Enabled',
          ExpirationInDays: 30,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ]);
    });

    it('is retained in prod like the tables, and deleted with a dev stack', () => {
      expect(bucket.DeletionPolicy).toBe(stage === 'prod' ? 'Retain' : 'Delete');
      expect(bucket.UpdateReplacePolicy).toBe(stage === 'prod' ? 'Retain' : 'Delete');
      // No auto-delete function (a custom resource holding s3:DeleteObject on every file).
      expect(Object.keys(data.findResources('Custom::S3AutoDeleteObjects'))).toEqual([]);
      data.resourceCountIs('AWS::Lambda::Function', 0);
    });
  });
});
