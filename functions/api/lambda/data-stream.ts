import { streamHandle } from 'hono/aws-lambda';
import { app } from './data';

/**
 * The data plane behind a Lambda Function URL in RESPONSE_STREAM mode, so `stream: true` chat
 * completions reach the client token by token instead of buffered. `streamHandle` needs the
 * `awslambda` global, which the Lambda runtime defines before it imports this module.
 */
export const handler = streamHandle(app);
