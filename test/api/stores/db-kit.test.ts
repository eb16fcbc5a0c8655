import { randomUUID } from 'node:crypto';
import { PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { conditionHeld, ifConditionFails, isConditionalFailure } from '#shared/db/conditions';
import { decodeCursor, encodeCursor } from '#shared/db/cursor';
import { entity, fieldsOf } from '#shared/db/entity';
import { queryAll, queryItems, queryPage } from '#shared/db/query';
import { tableNames } from '#shared/db/tables';

import { createHarness, type Harness } from '../../support/harness';

/** A partition of `n` items (`ITEM#00`, `ITEM#01`, ...), also listed in a gsi1 partition of its own. */
async function partition(h: Harness, table: string, n: number): Promise<{ pk: string; gsi: string }> {
  const pk = `KIT#${randomUUID()}`;
  const gsi = `KITINDEX#${pk}`;
  for (let i = 0; i < n; i++) {
    const sk = `ITEM#${String(i).padStart(2, '0')}`;
    await h.stores.dynamo.doc.send(
      new PutCommand({
        TableName: table,
        Item: { pk, sk, n: i, gsi1pk: gsi, gsi1sk: sk },
      }),
    );
  }
  return { pk, gsi };
}

describe('the data-access kit', () => {
  let h: Harness;
  let table: string;
  let queries = 0;
  beforeAll(async () => {
    h = await createHarness();
    table = tableNames(h.config.STAGE).main;
    // Counts the Query requests this file's client sends (the kit's pages).
    h.stores.dynamo.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries++;
        return next(args);
      },
      { step: 'initialize', name: 'countQueries' },
    );
  });

  const byPartition = (pk: string) => ({
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
  });

  it('queryAll reads every page of a Query that takes several', async () => {
    const { pk } = await partition(h, table, 7);
    const input = byPartition(pk);
    queries = 0;
    const items = await queryAll(h.stores.dynamo.doc, input, { pageSize: 2 });
    expect(items.map((i) => i.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Pages of 2, 2, 2 and 1: four requests, each from where the one before stopped.
    expect(queries).toBe(4);
    // The caller's input is not the paginator's to write on.
    expect(input).toEqual(byPartition(pk));
    expect(await queryAll(h.stores.dynamo.doc, input)).toHaveLength(7);
  });

  it('queryItems reads a page only when the one before is used up', async () => {
    const { pk } = await partition(h, table, 6);
    queries = 0;
    const seen: unknown[] = [];
    for await (const item of queryItems(h.stores.dynamo.doc, byPartition(pk), { pageSize: 2 })) {
      seen.push(item.n);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(queries).toBe(2);
  });

  it('queryPage hands out a cursor in the format the API has always given, page after page', async () => {
    const { pk } = await partition(h, table, 5);
    const doc = h.stores.dynamo.doc;
    const read = (cursor?: string) =>
      queryPage(doc, byPartition(pk), { limit: 2, cursor, partition: { pk } });
    const first = await read();
    if (first === 'bad_cursor') throw new Error('first page refused');
    expect(first.items.map((i) => i.n)).toEqual([0, 1]);
    // base64url JSON of the page's LastEvaluatedKey: the last item's key.
    expect(JSON.parse(Buffer.from(first.cursor!, 'base64url').toString('utf8'))).toEqual({
      pk,
      sk: 'ITEM#01',
    });
    const second = await read(first.cursor!);
    if (second === 'bad_cursor') throw new Error('second page refused');
    expect(second.items.map((i) => i.n)).toEqual([2, 3]);
    const third = await read(second.cursor!);
    expect(third).toEqual({ items: [expect.objectContaining({ n: 4 })], cursor: null });
    // An empty cursor is the first page, as it always was.
    expect(await read('')).toEqual(first);
  });

  it('queryPage pages through an index, newest first, with the index keys in its cursor', async () => {
    const { gsi } = await partition(h, table, 3);
    const input = {
      TableName: table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': gsi },
      ScanIndexForward: false,
    };
    const page = { limit: 2, partition: { gsi1pk: gsi } };
    const first = await queryPage(h.stores.dynamo.doc, input, page);
    if (first === 'bad_cursor') throw new Error('first page refused');
    expect(first.items.map((i) => i.n)).toEqual([2, 1]);
    expect(decodeCursor(first.cursor!, { gsi1pk: gsi })).toMatchObject({ gsi1pk: gsi, gsi1sk: 'ITEM#01' });
    const rest = await queryPage(h.stores.dynamo.doc, input, { ...page, cursor: first.cursor! });
    expect(rest).toEqual({ items: [expect.objectContaining({ n: 0 })], cursor: null });
  });

  it("queryPage refuses a cursor that does not decode, is another partition's or fails its check", async () => {
    const mine = await partition(h, table, 3);
    const theirs = await partition(h, table, 3);
    const doc = h.stores.dynamo.doc;
    const theirFirst = await queryPage(doc, byPartition(theirs.pk), {
      limit: 1,
      partition: { pk: theirs.pk },
    });
    if (theirFirst === 'bad_cursor') throw new Error('first page refused');
    const page = (cursor: string, accept?: (start: Record<string, string>) => boolean) =>
      queryPage(doc, byPartition(mine.pk), { limit: 1, cursor, partition: { pk: mine.pk }, accept });
    expect(await page('not a cursor')).toBe('bad_cursor');
    expect(await page(theirFirst.cursor!)).toBe('bad_cursor');
    const own = encodeCursor({ pk: mine.pk, sk: 'ITEM#00' })!;
    expect(await page(own, (start) => start.sk!.startsWith('OTHER#'))).toBe('bad_cursor');
    expect(await page(own, (start) => start.sk!.startsWith('ITEM#'))).toMatchObject({
      items: [expect.objectContaining({ n: 1 })],
    });
  });

  it('conditionHeld and ifConditionFails turn a refused write into an answer, and nothing else', async () => {
    const doc = h.stores.dynamo.doc;
    const key = { pk: `KIT#${randomUUID()}`, sk: 'ONCE' };
    const putOnce = () =>
      doc.send(
        new PutCommand({ TableName: table, Item: key, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    expect(await conditionHeld(putOnce())).toBe(true);
    expect(await conditionHeld(putOnce())).toBe(false);
    expect(await putOnce().catch((err: unknown) => isConditionalFailure(err))).toBe(true);

    // A cancelled transaction is refused too.
    const transaction = () =>
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table, Item: key, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
    expect(await ifConditionFails(transaction(), () => 'taken')).toBe('taken');
    expect(await ifConditionFails(Promise.resolve('written'), () => 'taken')).toBe('written');

    // Any other failure is the caller's: a malformed update is thrown as it was.
    const malformed = doc.send(
      new UpdateCommand({ TableName: table, Key: key, UpdateExpression: 'SET = nothing' }),
    );
    await expect(conditionHeld(malformed)).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('an entity writes its key and type with its fields, and reads its record back', async () => {
    const doc = h.stores.dynamo.doc;
    const widgets = entity({
      type: 'seed',
      key: (id: string) => ({ pk: `KIT#${id}`, sk: 'WIDGET' }),
      from: (item) => ({ id: item.id as string, size: Number(item.size) }),
    });
    const id = randomUUID();
    const item = widgets.item(widgets.key(id), { id, size: 3, gsi1pk: 'KITWIDGETS', gsi1sk: id });
    expect(item).toEqual({
      pk: `KIT#${id}`,
      sk: 'WIDGET',
      type: 'seed',
      id,
      size: 3,
      gsi1pk: 'KITWIDGETS',
      gsi1sk: id,
    });
    expect(fieldsOf(item)).toEqual({ id, size: 3 });
    await doc.send(new PutCommand({ TableName: table, Item: item }));
    expect(await widgets.get(doc, table, widgets.key(id), { consistent: true })).toEqual({ id, size: 3 });
    expect(await widgets.get(doc, table, widgets.key('nobody'))).toBeUndefined();
  });
});
