import { fmtCompact, fmtInt, fmtUsd } from '../lib/format';
import type { UsageTotals as Totals } from '../lib/usage';
import { Stat } from './ui';

/** The four figures above a usage chart: requests, tokens (in and out), images, cost. */
export function UsageTotals(props: { totals: Totals }) {
  const t = props.totals;
  return (
    <div class="stats">
      <Stat label="Requests" value={fmtInt(t.requests)} />
      <Stat
        label="Tokens"
        value={fmtCompact(t.input + t.output)}
        sub={`${fmtInt(t.input)} in · ${fmtInt(t.output)} out`}
      />
      <Stat label="Images" value={fmtInt(t.images)} />
      <Stat label="Cost" value={fmtUsd(t.cost)} />
    </div>
  );
}
