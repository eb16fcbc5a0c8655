import type { ComponentChildren } from 'preact';

/** A column heading; `hidden` keeps it for screen readers only (an actions column). */
export type Column = string | { label: string; hidden: true };

/**
 * A data table in its scrolling frame: a caption (visible, or for screen readers only), column
 * headings with `scope`, and the rows the page renders. `false` columns are left out, so a
 * column that depends on a role reads `manage && { label: 'Actions', hidden: true }`.
 */
export function Table(props: {
  caption: string;
  captionHidden?: boolean;
  columns: (Column | false | undefined)[];
  /** `table-numeric` right-aligns columns from the fourth on; `table-figures` every td. */
  variant?: 'numeric' | 'figures';
  /** More classes on the table (a page's own layout rules). */
  class?: string;
  testId?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap" data-testid={props.testId}>
      <table
        class={['table', props.variant && `table-${props.variant}`, props.class].filter(Boolean).join(' ')}
      >
        <caption class={props.captionHidden ? 'visually-hidden' : undefined}>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) =>
              !c ? null : typeof c === 'string' ? (
                <th key={c} scope="col">
                  {c}
                </th>
              ) : (
                <th key={c.label} scope="col">
                  <span class="visually-hidden">{c.label}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** Which slice of `total` rows a page shows, and buttons to move between pages. */
export function Pager(props: { page: number; size: number; total: number; onPage: (page: number) => void }) {
  const { page, size, total } = props;
  if (total <= size) return null;
  const last = Math.ceil(total / size) - 1;
  return (
    <nav class="pager" aria-label="Pages">
      <span class="muted">
        Rows {page * size + 1}–{Math.min(total, (page + 1) * size)} of {total}
      </span>
      <button
        type="button"
        class="btn btn-small"
        disabled={page === 0}
        onClick={() => props.onPage(page - 1)}
      >
        Previous
      </button>
      <button
        type="button"
        class="btn btn-small"
        disabled={page >= last}
        onClick={() => props.onPage(page + 1)}
      >
        Next
      </button>
    </nav>
  );
}
