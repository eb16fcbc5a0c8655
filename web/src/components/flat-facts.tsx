import { fmtInt } from '../lib/format';

/**
 * Shows an answer whose exact shape this console does not know yet (a feature that landed after
 * it): every scalar field, by its path. Real data, plainly labelled, rather than nothing.
 */
export function FlatFacts(props: { value: unknown; skip?: string[] }) {
  const rows: [string, string][] = [];
  const walk = (v: unknown, path: string) => {
    if (rows.length > 40) return;
    if (v === null || v === undefined) return;
    if (typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v))
        if (!props.skip?.includes(k)) walk(x, path ? `${path}.${k}` : k);
    } else if (Array.isArray(v)) {
      rows.push([path, `${v.length} item${v.length === 1 ? '' : 's'}`]);
    } else {
      rows.push([path, typeof v === 'number' ? fmtInt(v) : String(v)]);
    }
  };
  walk(props.value, '');
  return (
    <dl class="flat-facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k.replace(/_/g, ' ')}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
