import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** ten(ant), usr (user), key, req(uest), evt (usage event), opr (operator), inv(itation), ses(sion), aud(it entry), crg (credit grant), cle (credit ledger entry), tup (top-up), proj(ect). */
export type IdPrefix =
  | 'ten'
  | 'usr'
  | 'key'
  | 'req'
  | 'evt'
  | 'opr'
  | 'inv'
  | 'ses'
  | 'aud'
  | 'lse'
  | 'eml'
  | 'crg'
  | 'cle'
  | 'tup'
  | 'proj';

/** The source of ids and time, injected so tests can fix them. */
export type IdGenerator = (prefix: IdPrefix) => string;

export function encodeTime(now: number): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

/** The lowest or highest id of a prefix made at `time`: bounds for a key-range query over time-ordered ids. */
export function idBound(prefix: IdPrefix, time: number, bound: 'low' | 'high'): string {
  return `${prefix}_${encodeTime(time)}${(bound === 'low' ? '0' : 'Z').repeat(16)}`;
}

/** Time-ordered prefixed ids (`req_01J...`): a ULID (48-bit ms time + 80 random bits) after the prefix. */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  const time = encodeTime(now);
  const bytes = randomBytes(10);
  let rand = '';
  // 80 bits -> 16 base32 chars, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return `${prefix}_${time}${rand}`;
}

const ID_RE = /^(ten|usr|key|req|evt|opr|inv|ses|aud|crg|cle|proj)_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `value` has the shape of an id with the given prefix. */
export function isId(value: string, prefix: IdPrefix): boolean {
  return ID_RE.test(value) && value.startsWith(`${prefix}_`);
}

/** When a time-ordered id was made (ms since the epoch), from its first ten characters after the prefix. */
export function idTime(id: string): number {
  const time = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let t = 0;
  for (const ch of time) t = t * 32 + CROCKFORD.indexOf(ch);
  return t;
}
