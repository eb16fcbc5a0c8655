import type { UsageFreshness } from './types';

/** The wording of the console's line on how fresh usage figures are (components/usage-freshness). */

/** Behind by more than this, totals are called out as possibly incomplete. */
export const STALE_MS = 60_000;

const utcTime = (iso: string) => `${new Date(iso).toISOString().slice(11, 19)} UTC`;

function behind(ms: number): string {
  if (ms < 1_000) return 'less than a second behind';
  if (ms < STALE_MS) return `about ${Math.round(ms / 1_000)} s behind`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'} behind`;
  return `${Math.round(minutes / 60)} hours behind`;
}

/** What the line says, and whether it warns; undefined when the server does not say. */
export function freshnessNote(f: UsageFreshness | undefined): { warn: boolean; text: string } | undefined {
  if (!f) return undefined;
  if (!f.as_of || Number.isNaN(Date.parse(f.as_of)))
    return { warn: false, text: 'How recent these usage figures are is not known yet.' };
  const at = utcTime(f.as_of);
  if (f.lag_ms === null) return { warn: false, text: `Usage as of ${at}.` };
  if (f.lag_ms > STALE_MS)
    return {
      warn: true,
      text: `Usage is ${behind(f.lag_ms)}; totals may be incomplete (complete up to ${at}). Billing is not affected.`,
    };
  return { warn: false, text: `Usage as of ${at} (${behind(f.lag_ms)}).` };
}
