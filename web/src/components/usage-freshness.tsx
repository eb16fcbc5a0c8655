import { freshnessNote } from '../lib/freshness';
import type { UsageFreshness } from '../lib/types';

/**
 * A small line under usage figures saying how fresh they are, from the API's `freshness`: the
 * totals come from aggregates that trail the requests (by about a second). Muted, unless they are
 * more than a minute behind.
 */
export function UsageFreshnessNote(props: { freshness: UsageFreshness | undefined }) {
  const note = freshnessNote(props.freshness);
  if (!note) return null;
  return note.warn ? (
    <p class="notice notice-warn usage-freshness" role="status" data-testid="usage-freshness">
      {note.text}
    </p>
  ) : (
    <p class="hint usage-freshness" title={props.freshness?.as_of ?? undefined} data-testid="usage-freshness">
      {note.text}
    </p>
  );
}
