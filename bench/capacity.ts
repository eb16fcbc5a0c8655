/**
 * DynamoDB's on-demand capacity rules, for the requests whose units DynamoDB Local does not report
 * right (see dynamo-meter.ts): item sizes, and what a transactional write or read of an item costs
 * on its table and its secondary indexes. Items are in DynamoDB's JSON wire format
 * (`{ "pk": { "S": "..." } }`).
 */

export type WireValue = Record<string, unknown>;
export type WireItem = Record<string, WireValue>;

/** What pricing needs from DescribeTable: the key attributes, and each index's keys and projection. */
export interface TableSchema {
  keys: string[];
  indexes: { name: string; keys: string[]; projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; include: string[] }[];
}

/** On-demand list prices (us-east-1), dollars per million units. */
export const PRICE_PER_MILLION = { write: 0.625, read: 0.125 } as const;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** A number's size: about one byte per two significant digits, plus one. */
function numberSize(n: string): number {
  const digits = n
    .replace(/^[-+]/, '')
    .replace(/[eE][-+]?\d+$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** The size of one attribute value, by DynamoDB's item-size rules. */
export function valueSize(v: WireValue): number {
  const [type, raw] = Object.entries(v)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(raw as string);
    case 'N':
      return numberSize(raw as string);
    case 'B':
      return Buffer.from(raw as string, 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (raw as string[]).reduce((s, x) => s + utf8(x), 0);
    case 'NS':
      return (raw as string[]).reduce((s, x) => s + numberSize(x), 0);
    case 'BS':
      return (raw as string[]).reduce((s, x) => s + Buffer.from(x, 'base64').length, 0);
    case 'L':
      // 3 bytes for the list, 1 per element.
      return 3 + (raw as WireValue[]).reduce((s, x) => s + 1 + valueSize(x), 0);
    case 'M':
      return 3 + Object.entries(raw as WireItem).reduce((s, [k, x]) => s + 1 + utf8(k) + valueSize(x), 0);
    default:
      throw new Error(`unknown attribute type ${type}`);
  }
}

/** An item's size: the UTF-8 length of each attribute name plus its value's size. */
export function itemSize(item: WireItem | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

/** Write units of one standard write of an item of this size (1 per started KB, at least 1). */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** Read units of one strongly consistent read of this many bytes (1 per started 4 KB, at least 1). */
export const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

export function keyOf(item: WireItem, attributes: string[]): WireItem | undefined {
  const key: WireItem = {};
  for (const a of attributes) {
    const v = item[a];
    if (v === undefined) return undefined;
    key[a] = v;
  }
  return key;
}

function project(item: WireItem, schema: TableSchema, index: TableSchema['indexes'][number]): WireItem {
  if (index.projection === 'ALL') return item;
  const out: WireItem = {};
  for (const a of [...schema.keys, ...index.keys, ...(index.projection === 'INCLUDE' ? index.include : [])]) {
    if (item[a] !== undefined) out[a] = item[a];
  }
  return out;
}

const same = (a: WireItem, b: WireItem) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sorted = (item: WireItem) =>
  Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : 1)));

/**
 * Standard write units a write of one item consumes, on its table and on each secondary index,
 * given the item before and after it (undefined where there is none): the table is charged on the
 * larger of the two images; an index is written when the item enters it (a put of the projection),
 * leaves it (a delete), changes its index key (both), or changes a projected attribute (a put).
 * A transactional write is twice this (DynamoDB Local reports the same doubling for a one-item
 * transaction, index writes included). `written: false` (a failed condition) charges the table only.
 */
export function itemWriteUnits(
  schema: TableSchema,
  before: WireItem | undefined,
  after: WireItem | undefined,
  written = true,
): { table: number; indexes: number } {
  const table = writeUnits(Math.max(itemSize(before), itemSize(after)));
  if (!written) return { table, indexes: 0 };
  let indexes = 0;
  for (const index of schema.indexes) {
    const oldKey = before && keyOf(before, index.keys);
    const newKey = after && keyOf(after, index.keys);
    const oldEntry = oldKey && before ? project(before, schema, index) : undefined;
    const newEntry = newKey && after ? project(after, schema, index) : undefined;
    if (oldEntry && newEntry) {
      if (!same(oldKey!, newKey!)) indexes += writeUnits(itemSize(oldEntry)) + writeUnits(itemSize(newEntry));
      else if (!same(oldEntry, newEntry))
        indexes += writeUnits(Math.max(itemSize(oldEntry), itemSize(newEntry)));
    } else if (oldEntry) indexes += writeUnits(itemSize(oldEntry));
    else if (newEntry) indexes += writeUnits(itemSize(newEntry));
  }
  return { table, indexes };
}
