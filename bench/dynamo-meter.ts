import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import {
  itemSize,
  itemWriteUnits,
  keyOf,
  readUnits,
  type TableSchema,
  type WireItem,
  type WireValue,
} from './capacity';

/**
 * An HTTP pass-through in front of DynamoDB (Local) that meters every request crossing it: the
 * operation (`X-Amz-Target`), the items it reads and writes, and the capacity units it consumes.
 *
 * Units: each data-plane request is forwarded with `"ReturnConsumedCapacity":"INDEXES"` added to
 * its JSON body (Content-Length fixed; DynamoDB Local does not check SigV4 signatures, so the
 * changed body passes) and the `ConsumedCapacity` of the answer is read. DynamoDB Local reports
 * standard operations by DynamoDB's rules (item size, larger of old and new image, index writes,
 * 4 KB rounding of a Query, eventual reads at half), but not transactions: several items of one
 * kind on one table are reported as one (two one-item Updates in a TransactWriteItems: 2 units, not
 * 4). For TransactWriteItems and TransactGetItems the meter therefore reads the items itself before
 * and after (on its own connection, not counted) and prices them from their sizes (capacity.ts).
 * A failed conditional write is charged too, as DynamoDB charges it. The answer goes back to the
 * client byte for byte (it may carry a ConsumedCapacity the client did not ask for; it ignores it).
 */

/** One request that crossed the meter. */
export interface MeteredCall {
  /** `TransactWriteItems`, `GetItem`, `DynamoDBStreams_20120810.GetRecords`, ... */
  op: string;
  ok: boolean;
  /** Items the call names (keys, put items, transaction members); 0 for a Query or a Scan. */
  items: number;
  writeUnits: number;
  readUnits: number;
  /** Where the units come from. */
  source: 'DynamoDB Local' | 'item sizes' | 'none';
  /** DynamoDB Local's own figure where `source` is the item sizes (to show how far off it is). */
  localUnits?: number;
  /** Partition key values the call reads or writes. */
  partitions: string[];
  /** Items it wrote (committed), as `table pk sk`. */
  writes: string[];
  /** When its answer came back (ms since the epoch). */
  at: number;
}

export interface DynamoMeter {
  url: string;
  /** Every call metered since the last reset, once the ones under way have been priced. */
  calls(): Promise<MeteredCall[]>;
  reset(): void;
  stop(): Promise<void>;
}

const API = 'DynamoDB_20120810';
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
/** Operations that accept ReturnConsumedCapacity. */
const METERED = new Set([
  ...WRITES,
  ...READS,
  'ExecuteStatement',
  'BatchExecuteStatement',
  'ExecuteTransaction',
]);

type Json = Record<string, unknown>;

const scalar = (v: WireValue | undefined) => (v ? String(Object.values(v)[0]) : '');

function sumUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((s: number, c) => s + Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);
}

export async function startDynamoMeter(target: string): Promise<DynamoMeter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let calls: MeteredCall[] = [];
  const pending = new Set<Promise<void>>();
  const schemas = new Map<string, Promise<TableSchema>>();

  /** One HTTP exchange with DynamoDB, the body buffered. */
  const exchange = (path: string, headers: IncomingHttpHeaders, body: Buffer, method = 'POST') =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((res, rej) => {
      const req = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method,
          path,
          agent,
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }),
          );
          r.on('error', rej);
        },
      );
      req.on('error', rej);
      req.end(body);
    });

  /** The meter's own requests (item images, table schemas): straight to DynamoDB, never counted. */
  const own = async (op: string, input: Json): Promise<Json> => {
    const out = await exchange(
      '/',
      {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${API}.${op}`,
        // DynamoDB Local wants an Authorization header but does not check it.
        authorization:
          'AWS4-HMAC-SHA256 Credential=meter/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      Buffer.from(JSON.stringify(input)),
    );
    const json = JSON.parse(out.body.toString() || '{}') as Json;
    if (out.status !== 200) throw new Error(`meter's own ${op} failed: ${out.body.toString()}`);
    return json;
  };

  const schemaOf = (table: string): Promise<TableSchema> => {
    let s = schemas.get(table);
    if (!s) {
      s = own('DescribeTable', { TableName: table }).then((out) => {
        type KeyElement = { AttributeName: string; KeyType: string };
        type Index = {
          IndexName: string;
          KeySchema: KeyElement[];
          Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] };
        };
        const t = out.Table as {
          KeySchema: KeyElement[];
          GlobalSecondaryIndexes?: Index[];
          LocalSecondaryIndexes?: Index[];
        };
        // HASH first, then RANGE.
        const names = (k: KeyElement[]) =>
          [...k]
            .sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0))
            .map((e) => e.AttributeName);
        return {
          keys: names(t.KeySchema),
          indexes: [...(t.GlobalSecondaryIndexes ?? []), ...(t.LocalSecondaryIndexes ?? [])].map((i) => ({
            name: i.IndexName,
            keys: names(i.KeySchema),
            projection: (i.Projection?.ProjectionType ??
              'ALL') as TableSchema['indexes'][number]['projection'],
            include: i.Projection?.NonKeyAttributes ?? [],
          })),
        };
      });
      schemas.set(table, s);
      s.catch(() => schemas.delete(table));
    }
    return s;
  };

  /** An item's identity across requests: its table and key. */
  const imageKey = async (table: string, key: WireItem) =>
    `${table}\u0000${JSON.stringify(keyOf(key, (await schemaOf(table)).keys))}`;

  /** Current images of some items (strongly consistent), by `table` + key; missing ones are absent. */
  const images = async (wanted: { table: string; key: WireItem }[]): Promise<Map<string, WireItem>> => {
    const found = new Map<string, WireItem>();
    if (wanted.length === 0) return found;
    for (let i = 0; i < wanted.length; i += 100) {
      const tables: Record<string, { Keys: WireItem[]; ConsistentRead: boolean }> = {};
      for (const w of wanted.slice(i, i + 100)) {
        tables[w.table] ??= { Keys: [], ConsistentRead: true };
        const t = tables[w.table]!;
        if (!t.Keys.some((k) => JSON.stringify(k) === JSON.stringify(w.key))) t.Keys.push(w.key);
      }
      let request: Json = tables;
      for (let attempt = 0; Object.keys(request).length > 0 && attempt < 10; attempt++) {
        const out = await own('BatchGetItem', { RequestItems: request });
        for (const [table, items] of Object.entries((out.Responses ?? {}) as Record<string, WireItem[]>)) {
          for (const item of items) found.set(await imageKey(table, item), item);
        }
        request = (out.UnprocessedKeys ?? {}) as Json;
      }
    }
    return found;
  };
  const itemName = async (table: string, item: WireItem) =>
    [table, ...(await schemaOf(table)).keys.map((k) => scalar(item[k]))].join(' ');
  const partition = async (table: string, item: WireItem) => scalar(item[(await schemaOf(table)).keys[0]!]);

  /** The partition a Query reads: the value its key condition gives the (table's or index's) hash key. */
  const queriedPartition = async (body: Json): Promise<string[]> => {
    const schema = await schemaOf(body.TableName as string);
    const hash = body.IndexName
      ? schema.indexes.find((i) => i.name === body.IndexName)?.keys[0]
      : schema.keys[0];
    const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (body.ExpressionAttributeValues ?? {}) as Record<string, WireValue>;
    for (const m of String(body.KeyConditionExpression ?? '').matchAll(/(#?[\w.]+)\s*=\s*(:\w+)/g)) {
      const name = m[1]!.startsWith('#') ? names[m[1]!] : m[1];
      if (name === hash) return [scalar(values[m[2]!])];
    }
    return [];
  };

  type Member = { kind: string; table: string; key: WireItem; put?: WireItem };

  /** The items a request names, with their tables (writes and reads alike). */
  async function membersOf(op: string, body: Json): Promise<Member[]> {
    const members: Member[] = [];
    const table = body.TableName as string;
    switch (op) {
      case 'GetItem':
      case 'UpdateItem':
      case 'DeleteItem':
        members.push({ kind: op, table, key: body.Key as WireItem });
        break;
      case 'PutItem': {
        const item = body.Item as WireItem;
        members.push({ kind: op, table, key: keyOf(item, (await schemaOf(table)).keys) ?? {}, put: item });
        break;
      }
      case 'BatchGetItem':
        for (const [t, r] of Object.entries(body.RequestItems as Record<string, { Keys: WireItem[] }>))
          for (const key of r.Keys) members.push({ kind: 'Get', table: t, key });
        break;
      case 'BatchWriteItem':
        for (const [t, reqs] of Object.entries(body.RequestItems as Record<string, Json[]>)) {
          for (const r of reqs) {
            const put = (r.PutRequest as { Item: WireItem } | undefined)?.Item;
            if (put)
              members.push({ kind: 'Put', table: t, key: keyOf(put, (await schemaOf(t)).keys) ?? {}, put });
            else members.push({ kind: 'Delete', table: t, key: (r.DeleteRequest as { Key: WireItem }).Key });
          }
        }
        break;
      case 'TransactGetItems':
      case 'TransactWriteItems':
        for (const entry of body.TransactItems as Record<string, Json>[]) {
          const [kind, m] = Object.entries(entry)[0]!;
          const t = m.TableName as string;
          const put = m.Item as WireItem | undefined;
          const key = put ? (keyOf(put, (await schemaOf(t)).keys) ?? {}) : (m.Key as WireItem);
          members.push({ kind, table: t, key, ...(put ? { put } : {}) });
        }
        break;
    }
    return members;
  }

  /** Prices and records one request and its answer. Transactions: `before` is what the items were. */
  async function meter(
    op: string,
    body: Json | undefined,
    status: number,
    answer: Json,
    before: Map<string, WireItem> | undefined,
  ): Promise<MeteredCall> {
    const ok = status === 200;
    const call: MeteredCall = {
      op,
      ok,
      items: 0,
      writeUnits: 0,
      readUnits: 0,
      source: 'none',
      partitions: [],
      writes: [],
      at: Date.now(),
    };
    if (!body || !METERED.has(op)) return call;
    const members = await membersOf(op, body);
    call.items = members.length;
    call.partitions = [
      ...new Set(
        op === 'Query'
          ? await queriedPartition(body)
          : await Promise.all(members.map((m) => partition(m.table, m.key))),
      ),
    ];
    const local = sumUnits(answer.ConsumedCapacity);
    const writing = WRITES.has(op) || op === 'BatchExecuteStatement' || op === 'ExecuteTransaction';
    if (op === 'TransactWriteItems' || op === 'TransactGetItems') {
      const after =
        ok && op === 'TransactWriteItems' ? await images(members.filter((m) => m.kind !== 'Delete')) : before;
      let units = 0;
      for (const m of members) {
        const schema = await schemaOf(m.table);
        const id = await imageKey(m.table, m.key);
        const old = before?.get(id);
        if (op === 'TransactGetItems') {
          units += 2 * readUnits(itemSize(old));
          continue;
        }
        // A ConditionCheck is charged as a write of the item it checks; a cancelled transaction
        // as the writes it attempted (no index writes).
        const now =
          m.kind === 'Delete'
            ? undefined
            : m.kind === 'ConditionCheck' || !ok
              ? (m.put ?? old)
              : after?.get(id);
        const u = itemWriteUnits(schema, old, now, ok && m.kind !== 'ConditionCheck');
        units += 2 * (u.table + u.indexes);
        if (ok && m.kind !== 'ConditionCheck') call.writes.push(await itemName(m.table, m.key));
      }
      if (op === 'TransactWriteItems') call.writeUnits = units;
      else call.readUnits = units;
      call.source = 'item sizes';
      call.localUnits = local;
      return call;
    }
    if (ok) {
      if (writing) call.writeUnits = local;
      else call.readUnits = local;
      call.source = 'DynamoDB Local';
      if (WRITES.has(op)) {
        // Everything a BatchWriteItem left unprocessed was not written.
        const unprocessed = JSON.stringify(answer.UnprocessedItems ?? {});
        for (const m of members) {
          if (op === 'BatchWriteItem' && unprocessed.includes(JSON.stringify(m.key))) continue;
          call.writes.push(await itemName(m.table, m.key));
        }
      }
      return call;
    }
    // A failed conditional write consumes units all the same (nothing in the answer says how many).
    if (String(answer.__type ?? '').endsWith('ConditionalCheckFailedException') && members[0]) {
      const m = members[0];
      const old = (await images([m])).get(await imageKey(m.table, m.key));
      call.writeUnits = itemWriteUnits(await schemaOf(m.table), old, m.put ?? old, false).table;
      call.source = 'item sizes';
    }
    return call;
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const work = (async () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const op = target.startsWith(`${API}.`)
          ? target.slice(API.length + 1)
          : target || `${req.method} ${req.url}`;
        let body: Json | undefined;
        let raw = Buffer.concat(chunks);
        if (METERED.has(op)) {
          body = JSON.parse(raw.toString()) as Json;
          raw = Buffer.from(JSON.stringify({ ...body, ReturnConsumedCapacity: 'INDEXES' }));
        }
        const before =
          body && (op === 'TransactWriteItems' || op === 'TransactGetItems')
            ? await images(await membersOf(op, body))
            : undefined;
        const out = await exchange(req.url ?? '/', req.headers, raw, req.method);
        let answer: Json = {};
        try {
          const text = out.headers['content-encoding'] === 'gzip' ? gunzipSync(out.body) : out.body;
          answer = JSON.parse(text.toString() || '{}') as Json;
        } catch {
          // Not JSON (a health probe, an HTML error page): counted, not priced.
        }
        // Priced before the answer goes back, so the images read are the ones this call left.
        calls.push(await meter(op, body, out.status, answer, before));
        const headers = { ...out.headers };
        delete headers['transfer-encoding'];
        delete headers.connection;
        res.writeHead(out.status, { ...headers, 'content-length': String(out.body.length) });
        res.end(out.body);
      })().catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`dynamo meter: ${String(err)}`);
      });
      pending.add(work);
      void work.finally(() => pending.delete(work));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async calls() {
      await Promise.all([...pending]);
      return [...calls];
    },
    reset() {
      calls = [];
    },
    stop: () =>
      new Promise((res) => {
        server.close(() => res());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
