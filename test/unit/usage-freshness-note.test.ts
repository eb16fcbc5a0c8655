import { describe, expect, it } from 'vitest';
import { freshnessNote } from '../../web/src/lib/freshness';

describe("the console's line on how fresh usage figures are", () => {
  const asOf = '2026-11-02T12:03:41.250Z';

  it('is a muted "as of" with the lag while under a minute behind', () => {
    expect(freshnessNote({ as_of: asOf, lag_ms: 850 })).toEqual({
      warn: false,
      text: 'Usage as of 12:03:41 UTC (less than a second behind).',
    });
    expect(freshnessNote({ as_of: asOf, lag_ms: 1_400 })?.text).toBe(
      'Usage as of 12:03:41 UTC (about 1 s behind).',
    );
    expect(freshnessNote({ as_of: asOf, lag_ms: 60_000 })).toMatchObject({ warn: false });
  });

  it('warns past a minute behind, in minutes (then hours)', () => {
    expect(freshnessNote({ as_of: asOf, lag_ms: 3 * 60_000 + 10_000 })).toEqual({
      warn: true,
      text: 'Usage is 3 minutes behind; totals may be incomplete (complete up to 12:03:41 UTC). Billing is not affected.',
    });
    expect(freshnessNote({ as_of: asOf, lag_ms: 61_000 })?.text).toMatch(/^Usage is 1 minute behind;/);
    expect(freshnessNote({ as_of: asOf, lag_ms: 5 * 3_600_000 })?.text).toMatch(/^Usage is 5 hours behind;/);
  });

  it('says nothing alarming when not known, and nothing at all for a server that does not say', () => {
    expect(freshnessNote({ as_of: null, lag_ms: null })).toEqual({
      warn: false,
      text: 'How recent these usage figures are is not known yet.',
    });
    expect(freshnessNote(undefined)).toBeUndefined();
  });
});
