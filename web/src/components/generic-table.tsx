import { fmtInt, fmtUsd } from '../lib/format';

/** A table for a list whose exact columns arrive with the server (money columns end in `_usd`). */
export function GenericTable(props: { caption: string; rows: Record<string, unknown>[]; limit?: number }) {
  const rows = props.rows.slice(0, props.limit ?? 20);
  const first = rows[0];
  if (!first) return <p class="muted">Nothing yet.</p>;
  const cols = Object.keys(first).filter((k) => k !== 'object' && typeof first[k] !== 'object');
  const cell = (k: string, v: unknown) =>
    typeof v === 'number'
      ? k.endsWith('_usd')
        ? fmtUsd(v)
        : fmtInt(v)
      : k.endsWith('_usd')
        ? fmtUsd(String(v))
        : String(v ?? '—');
  return (
    <div class="table-wrap">
      <table class="table">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c} scope="col">
                {c.replace(/_/g, ' ')}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c}>{cell(c, r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
