/** The fixed windows counters live in, all in UTC. */
export interface Windows {
  /** `2026-11-25T01:02` */
  minute: string;
  /** `2026-11` */
  month: string;
  /** Seconds until the minute window ends (at least 1). */
  minuteResetSec: number;
  /** Seconds until the month ends (at least 1). */
  monthResetSec: number;
}

export function windowsAt(now: Date): Windows {
  const iso = now.toISOString();
  const ms = now.getTime();
  const nextMinute = Math.floor(ms / 60_000 + 1) * 60_000;
  const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return {
    minute: iso.slice(0, 16),
    month: iso.slice(0, 7),
    minuteResetSec: Math.max(1, Math.ceil((nextMinute - ms) / 1000)),
    monthResetSec: Math.max(1, Math.ceil((nextMonth - ms) / 1000)),
  };
}
