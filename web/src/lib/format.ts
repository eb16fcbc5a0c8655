/** Formatting shared by every page: numbers, money, dates, statuses. */

const int = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export const fmtInt = (n: number | undefined | null) => (n === undefined || n === null ? '—' : int.format(n));
export const fmtCompact = (n: number) => compact.format(n);

/** The API sends money as exact decimal strings ("0.000002650"); shown with enough digits to matter. */
export function fmtUsd(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '—';
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (n === 0) return '$0.00';
  if (Math.abs(n) >= 0.01)
    return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  // Tiny amounts (a few tokens) keep their digits instead of rounding to $0.00; the API's money
  // has nine decimals, so fixed notation to nine places is exact and never scientific.
  return `$${n.toFixed(9).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** A chart axis's dollars: `$0`, `$0.0042` below a cent, `$12.50` above. */
export const fmtUsdAxis = (n: number) =>
  n === 0 ? '$0' : n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;

export const nanoToUsd = (nano: number) => nano / 1e9;

/**
 * A sentiment score (-1 to 1) for reading: two decimals, since the float's last digits are noise
 * (`-0.09999999999999998` is "-0.10"); a score that rounds to zero has no sign.
 */
export function fmtScore(score: number): string {
  const s = score.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** "positive" as a label: "Positive". */
export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * An API key as people tell keys apart: its name and the start of its secret, as the holder sees
 * it on their own copy ("laptop · tg_live_Ab12Cd…"). A rotated key and its successor share the
 * name; the start of the secret is what differs.
 */
export const keyLabel = (k: { name: string; prefix: string }) => `${k.name} · ${k.prefix}…`;

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
}

export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-US', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function fmtRelative(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const ms = Date.now() - Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  const future = ms < 0;
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const s = `${n} ${name}${n === 1 ? '' : 's'}`;
      return future ? `in ${s}` : `${s} ago`;
    }
  }
  return future ? 'in a moment' : 'just now';
}

export const statusLabel = (s: string) => s.replace(/_/g, ' ');

/** YYYY-MM-DD in UTC, the API's day. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

export function daysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  const d = new Date(`${start}T00:00:00Z`);
  const last = new Date(`${end}T00:00:00Z`);
  while (d <= last && out.length < 400) {
    out.push(utcDay(d));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

export const unitLabel: Record<string, string> = {
  input_tokens: 'input tokens',
  output_tokens: 'output tokens',
  images: 'images',
};

/** What a row used, in a few words: tokens in and out, and images, whichever it has. */
export function unitsText(input: number, output: number, images: number): string {
  const parts: string[] = [];
  if (input || output) parts.push(`${fmtCompact(input)} in · ${fmtCompact(output)} out`);
  if (images) parts.push(`${fmtInt(images)} image${images === 1 ? '' : 's'}`);
  return parts.join(' · ') || '—';
}
