import type { TestProject } from 'vitest/node';
import { startEmbeddedDynamo } from '../../local/dynamodb';
import { startRuntimeProcess } from '../../local/runtime/launcher';
import { startLocalS3 } from '../../local/s3';
import { startStatusRun } from './observed-statuses';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    runtimeUrl: string;
    /** The local S3-compatible server (batch files); each test file has a bucket of its own. */
    s3Endpoint: string;
  }
}

/**
 * For the api project: one DynamoDB Local (in memory) and one model runtime process for the whole
 * run. Each test file gets its own tables (a stage of its own), so files never see each other's data.
 */
export default async function setup(project: TestProject) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Where this run's answers are recorded, for the api-statuses project (observed-statuses.ts).
  startStatusRun();
  const [dynamo, runtime, s3] = await Promise.all([
    startEmbeddedDynamo({ dataDir: null }),
    // Only the models the api tests call: the vision models' real inference is the integration
    // project's; here mobilenet-v2 answers the image routes' metering and undecodable-image cases.
    // The embeddings word vectors load in about 0.1 s (their first conversion, once, takes seconds).
    startRuntimeProcess({
      env: {
        TOLLGATE_STAGE: 'test',
        RUNTIME_MODELS: 'sentiment,chat,image-moderation@mobilenet-v2,embeddings',
      },
      waitForModels: true,
    }),
    startLocalS3({ dir: null }),
  ]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('runtimeUrl', runtime.url);
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    await Promise.all([dynamo.stop(), runtime.stop(), s3.stop()]);
  };
}
