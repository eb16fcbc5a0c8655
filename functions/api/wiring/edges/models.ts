import type { Config } from '#shared/config';
import type { ModelClient } from '#shared/models/model-client';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';

/** SageMaker Runtime (or the local runtime at SAGEMAKER_ENDPOINT). Brings the SageMaker Runtime SDK. */
export function sageMakerModels(config: Config): ModelClient {
  return new SageMakerModelClient({ region: config.AWS_REGION, endpoint: config.SAGEMAKER_ENDPOINT });
}
