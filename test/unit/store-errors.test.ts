import { GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { HttpResponse } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { createDynamo } from '../../shared/db/client';
import { asStoreUnavailable, StoreUnavailableError } from '../../shared/db/store-errors';

/** What the transport does with a call: answer it (status and DynamoDB's JSON error body) or fail it. */
type Wire = { status: number; body: Record<string, unknown> } | { throws: Error };

/**
 * A client as `createDynamo` makes it, whose calls never leave the process: `wire` stands in for
 * the network, below the SDK's retries and deserializer, so the errors are the SDK's own.
 */
function clientAnswering(wire: Wire) {
  const dynamo = createDynamo({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 2 });
  dynamo.client.middlewareStack.add(
    () => async () => {
      if ('throws' in wire) throw wire.throws;
      const response = new HttpResponse({
        statusCode: wire.status,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'unit' },
        body: new TextEncoder().encode(JSON.stringify(wire.body)),
      });
      return { response, output: undefined as never };
    },
    { step: 'deserialize', priority: 'low', name: 'fakeWire' },
  );
  return dynamo;
}

const get = new GetItemCommand({ TableName: 'table', Key: { pk: { S: 'a' }, sk: { S: 'b' } } });
const netError = (code: string, message: string) => Object.assign(new Error(message), { code });
const timeout = () =>
  Object.assign(new Error('Request timed out'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
const awsError = (type: string, status = 400) => ({
  status,
  body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: `${type} from the test` },
});

type Dynamo = ReturnType<typeof createDynamo>;

async function failureOf(wire: Wire, call: (d: Dynamo) => Promise<unknown> = (d) => d.client.send(get)) {
  const dynamo = clientAnswering(wire);
  try {
    await call(dynamo);
  } catch (err) {
    return err as Error;
  } finally {
    dynamo.client.destroy();
  }
  throw new Error('the call did not fail');
}

describe('store failures become one StoreUnavailableError on the client', () => {
  it.each([
    ['connection refused', { throws: netError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9') }],
    ['connection reset', { throws: netError('ECONNRESET', 'read ECONNRESET') }],
    ['socket hang up', { throws: netError('ECONNRESET', 'socket hang up') }],
    ['a broken pipe', { throws: netError('EPIPE', 'write EPIPE') }],
    ['a request timeout', { throws: timeout() }],
    ['an unreachable host', { throws: netError('EHOSTUNREACH', 'connect EHOSTUNREACH') }],
    ['ProvisionedThroughputExceeded', awsError('ProvisionedThroughputExceededException')],
    ['ThrottlingException', awsError('ThrottlingException')],
    ['RequestLimitExceeded', awsError('RequestLimitExceeded')],
    ['InternalServerError (500)', awsError('InternalServerError', 500)],
    ['ServiceUnavailable (503)', awsError('ServiceUnavailable', 503)],
    ['a 502 whose body is not JSON', { status: 502, body: {} }],
  ] as [string, Wire][])('%s', async (_, wire) => {
    const err = await failureOf(wire);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.name).toBe('StoreUnavailableError');
    expect(err.message).toMatch(/^The store did not answer GetItemCommand: /);
    // The SDK's error is kept for the logs, as its retries left it.
    expect(err.cause).toBeInstanceOf(Error);
    expect(asStoreUnavailable(err)).toBe(err);
  });

  it('the document client shares the conversion', async () => {
    const err = await failureOf({ throws: netError('ECONNREFUSED', 'connect ECONNREFUSED') }, (d) =>
      d.doc.send(new GetCommand({ TableName: 'table', Key: { pk: 'a' } })),
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([
    ['ConditionalCheckFailedException', 'ConditionalCheckFailedException'],
    ['ValidationException', 'ValidationException'],
    ['ResourceNotFoundException', 'ResourceNotFoundException'],
    ['TransactionConflictException', 'TransactionConflictException'],
  ])('a caller error stays typed: %s', async (_, type) => {
    const err = await failureOf(awsError(type));
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    expect(err.name).toBe(type);
  });

  it('a cancelled transaction stays typed, whatever its reasons (callers retry or read them)', async () => {
    const reasons = [{ Code: 'ThrottlingError' }, { Code: 'None' }];
    const err = await failureOf(
      {
        status: 400,
        body: { __type: 'TransactionCanceledException', message: 'cancelled', CancellationReasons: reasons },
      },
      (d) => d.client.send(new TransactWriteItemsCommand({ TransactItems: [] })),
    );
    expect(err.name).toBe('TransactionCanceledException');
  });

  it('an error raised before sending (marshalling) stays what it is', async () => {
    const { doc, client } = createDynamo({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    const err = await doc
      .send(new GetCommand({ TableName: 'table', Key: { pk: new (class Odd {})() } }))
      .catch((e: Error) => e);
    client.destroy();
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('asStoreUnavailable: what the API answers as 503 when it escapes', () => {
  const cancelled = (...codes: string[]) =>
    Object.assign(new Error('cancelled'), {
      name: 'TransactionCanceledException',
      CancellationReasons: codes.map((Code) => ({ Code })),
    });

  it('a transaction that contention alone cancelled, past its caller retries', () => {
    expect(asStoreUnavailable(cancelled('ThrottlingError', 'None'))).toBeInstanceOf(StoreUnavailableError);
    expect(asStoreUnavailable(cancelled('TransactionConflict'))).toBeInstanceOf(StoreUnavailableError);
    expect(
      asStoreUnavailable(Object.assign(new Error('x'), { name: 'TransactionConflictException' })),
    ).toBeInstanceOf(StoreUnavailableError);
    const wrapped = asStoreUnavailable(cancelled('ProvisionedThroughputExceeded'));
    expect(wrapped?.cause).toMatchObject({ name: 'TransactionCanceledException' });
  });

  it('not a transaction whose condition failed, nor a bug', () => {
    expect(asStoreUnavailable(cancelled('ConditionalCheckFailed', 'ThrottlingError'))).toBeUndefined();
    expect(asStoreUnavailable(cancelled('None'))).toBeUndefined();
    expect(
      asStoreUnavailable(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBeUndefined();
    expect(asStoreUnavailable('a string')).toBeUndefined();
    // The caller's own abort (its client went away) is not the store's doing.
    expect(asStoreUnavailable(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBeUndefined();
  });
});
