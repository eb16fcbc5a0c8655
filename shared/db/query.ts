import {
  type DynamoDBDocumentClient,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from './cursor';

/** An item as the document client reads it. */
export type Item = Record<string, unknown>;

/** A Query as the helpers below take it: where a page starts and how long it is are theirs to set. */
export type QueryInput = Omit<QueryCommandInput, 'ExclusiveStartKey' | 'Limit'>;

export interface QueryOptions {
  /** Items per request; by default a request reads up to DynamoDB's 1 MB. */
  pageSize?: number;
}

/**
 * Every item a Query matches, page after page, as the pages arrive: for reads that act on each
 * item (sweeps) and need not hold them all.
 */
export async function* queryItems(
  doc: DynamoDBDocumentClient,
  input: QueryInput,
  opts: QueryOptions = {},
): AsyncGenerator<Item> {
  // The paginator writes each page's start into the input it is given: a copy, so the caller's stays as it was.
  for await (const page of paginateQuery({ client: doc, pageSize: opts.pageSize }, { ...input })) {
    yield* page.Items ?? [];
  }
}

/** Every item a Query matches, all pages read. */
export async function queryAll(
  doc: DynamoDBDocumentClient,
  input: QueryInput,
  opts: QueryOptions = {},
): Promise<Item[]> {
  const items: Item[] = [];
  for await (const item of queryItems(doc, input, opts)) items.push(item);
  return items;
}

export interface Page {
  items: Item[];
  /** Where the next page starts; null on the last page. */
  cursor: string | null;
}

export interface PageRequest {
  /** Items at most on this page. */
  limit: number;
  /** A previous page's `cursor`; none (or empty) for the first page. */
  cursor?: string;
  /**
   * Key attributes a cursor must hold, with their values: the partition being read (`{ pk }`, or
   * `{ gsi1pk }` on the index), so that a crafted cursor cannot start the Query anywhere else.
   */
  partition: Record<string, string>;
  /** A further check of a decoded cursor (for instance, that its sort key is of this Query). */
  accept?: (start: Record<string, string>) => boolean;
}

/**
 * One page of a Query for a client that pages through it: its items, and an opaque cursor to the
 * next page (the page's LastEvaluatedKey as base64url JSON: see cursor.ts). A cursor that does not
 * decode, is not of `partition` or that `accept` refuses is `bad_cursor`, for the route to answer 400.
 */
export async function queryPage(
  doc: DynamoDBDocumentClient,
  input: QueryInput,
  page: PageRequest,
): Promise<Page | 'bad_cursor'> {
  let start: Record<string, string> | undefined;
  if (page.cursor) {
    start = decodeCursor(page.cursor, page.partition);
    if (!start || (page.accept && !page.accept(start))) return 'bad_cursor';
  }
  const pages = paginateQuery({ client: doc, pageSize: page.limit, startingToken: start }, { ...input });
  const first = (await pages.next()).value;
  await pages.return(undefined);
  return { items: first?.Items ?? [], cursor: encodeCursor(first?.LastEvaluatedKey) };
}

/**
 * One page of a Query with a FilterExpression (or none), for a client that pages through it:
 * DynamoDB's `Limit` counts items read before the filter, so this reads on (bounded by `maxRead`
 * items read) until `limit` items matched, and the cursor is the key of the last item given (or
 * where reading stopped). A page may hold fewer than `limit` items while its cursor is not null.
 */
export async function queryFilteredPage(
  doc: DynamoDBDocumentClient,
  input: QueryInput,
  page: PageRequest & {
    /** The attributes of an item's key in this Query (`pk`, `sk`, and the index's on an index). */
    keyAttributes: readonly string[];
    /** Items read (before the filter) at most, over every request of this page. */
    maxRead?: number;
  },
): Promise<Page | 'bad_cursor'> {
  let start: Record<string, unknown> | undefined;
  if (page.cursor) {
    const decoded = decodeCursor(page.cursor, page.partition);
    if (!decoded || (page.accept && !page.accept(decoded))) return 'bad_cursor';
    start = decoded;
  }
  const maxRead = page.maxRead ?? Math.max(page.limit * 10, 1000);
  const items: Item[] = [];
  let read = 0;
  for (;;) {
    const need = page.limit - items.length;
    const out = await doc.send(
      new QueryCommand({
        ...input,
        ExclusiveStartKey: start,
        // Unfiltered, a request reads exactly what the page still needs; filtered, more at once.
        Limit: input.FilterExpression ? Math.min(Math.max(need * 4, 100), 1000) : need,
      }),
    );
    read += out.ScannedCount ?? 0;
    const got = out.Items ?? [];
    if (got.length >= need) {
      items.push(...got.slice(0, need));
      const last = items.at(-1)!;
      const cut = got.length > need || out.LastEvaluatedKey;
      return {
        items,
        cursor: cut ? encodeCursor(Object.fromEntries(page.keyAttributes.map((a) => [a, last[a]]))) : null,
      };
    }
    items.push(...got);
    start = out.LastEvaluatedKey;
    if (!start) return { items, cursor: null };
    if (read >= maxRead) return { items, cursor: encodeCursor(start) };
  }
}
