import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';

/** One item of a TransactWriteItems call, as the stores' item builders return them. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
