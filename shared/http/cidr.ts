import { isIPv4, isIPv6 } from 'node:net';

/** An address as a number: 32 bits for IPv4, 128 for IPv6. */
interface Address {
  family: 4 | 6;
  value: bigint;
}

/** A range: its first address and its prefix length. */
export interface Cidr extends Address {
  prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

function v4(text: string): bigint {
  return text.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function v6(text: string): bigint {
  let groups: string[];
  // An IPv4 tail (`::ffff:192.0.2.1`) is two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  const head = tail ? text.slice(0, -tail.length) : text;
  const tailGroups = tail ? [(v4(tail) >> 16n).toString(16), (v4(tail) & 0xffffn).toString(16)] : [];
  const [left = '', right] = head.split('::') as [string, string | undefined];
  const split = (s: string) => s.split(':').filter((g) => g !== '');
  if (right === undefined) {
    groups = [...split(left), ...tailGroups];
  } else {
    const l = split(left);
    const r = [...split(right), ...tailGroups];
    groups = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  }
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/**
 * An address, or undefined when the text is not one. An IPv4 address mapped into IPv6
 * (`::ffff:192.0.2.1`, as a dual-stack socket reports an IPv4 caller) is that IPv4 address.
 */
export function parseAddress(text: string): Address | undefined {
  const plain = text.trim();
  if (isIPv4(plain)) return { family: 4, value: v4(plain) };
  const unzoned = plain.split('%')[0]!;
  if (!isIPv6(unzoned)) return undefined;
  const value = v6(unzoned);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/**
 * A CIDR range (`203.0.113.0/24`, `2001:db8::/32`; a bare address is its own /32 or /128), or
 * why it is not one. A range with bits set past its prefix is refused, naming the range meant:
 * `10.0.0.5/8` is a typo more often than a wish for `10.0.0.0/8`.
 */
export function parseCidr(text: string): Cidr | { error: string } {
  const [addr = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return { error: 'is not a CIDR range (one `/` at most)' };
  if (addr.includes('%')) return { error: 'must not have a zone (`%...`)' };
  const a = isIPv4(addr)
    ? { family: 4 as const, value: v4(addr) }
    : isIPv6(addr)
      ? { family: 6 as const, value: v6(addr) }
      : undefined;
  if (!a)
    return { error: 'is not an IPv4 or IPv6 address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32)' };
  const bits = BITS[a.family];
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))
    return { error: `has a prefix length that is not a number from 0 to ${bits}` };
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return { error: `has a prefix length over ${bits}` };
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((a.value & hostMask) !== 0n) {
    return {
      error: `has bits set past its /${prefix}; the range is ${format({ ...a, value: a.value & ~hostMask, prefix })}`,
    };
  }
  return { ...a, prefix };
}

/** The canonical text of a range (`2001:db8::/32`, `203.0.113.0/24`). */
export function format(c: Cidr): string {
  if (c.family === 4) {
    const octets = [24n, 16n, 8n, 0n].map((s) => String((c.value >> s) & 0xffn));
    return `${octets.join('.')}/${c.prefix}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((c.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  );
  // The longest run of zero groups (two or more) becomes `::`.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const text =
    best.at < 0
      ? groups.join(':')
      : `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
  return `${text}/${c.prefix}`;
}

/** Whether `address` is inside one of `ranges` (ranges that do not parse match nothing). */
export function inRanges(address: string, ranges: readonly string[]): boolean {
  const a = parseAddress(address);
  if (!a) return false;
  return ranges.some((text) => {
    const r = parseCidr(text);
    if ('error' in r || r.family !== a.family) return false;
    const shift = BigInt(BITS[r.family] - r.prefix);
    return a.value >> shift === r.value >> shift;
  });
}
