import { useState } from 'preact/hooks';
import { type ApiFailure, asFailure, get, query } from './api';
import type { List } from './types';
import { type Resource, useResource } from './use-resource';

const PAGE = 50;

export interface PagedList<T> {
  /** The first page, as any resource: loading, error, unavailable or ok. */
  first: Resource<List<T>> & { reload: () => void };
  /** Every row loaded so far, first page first. */
  rows: T[];
  /** Whether the server has more after `rows`. */
  hasMore: boolean;
  moreBusy: boolean;
  moreError: ApiFailure | null;
  loadMore: () => Promise<void>;
}

/**
 * A cursor-paged admin list (`?limit&cursor`, answering `{data, next_cursor}`): the first page
 * loads with the page (and again when `params` change), the next ones on demand.
 */
export function usePagedList<T>(
  path: string,
  params: Record<string, string | number | undefined | null>,
): PagedList<T> {
  const [more, setMore] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreBusy, setMoreBusy] = useState(false);
  const [moreError, setMoreError] = useState<ApiFailure | null>(null);
  const key = `${path}${query(params)}`;
  const first = useResource(
    async (signal) => {
      const page = await get<List<T>>(`${path}${query({ ...params, limit: PAGE })}`, { signal });
      setMore([]);
      setMoreError(null);
      setCursor(page.next_cursor ?? null);
      return page;
    },
    [key],
  );
  const loadMore = async () => {
    if (!cursor || moreBusy) return;
    setMoreBusy(true);
    setMoreError(null);
    try {
      const page = await get<List<T>>(`${path}${query({ ...params, limit: PAGE, cursor })}`);
      setMore((rows) => [...rows, ...page.data]);
      setCursor(page.next_cursor ?? null);
    } catch (err) {
      setMoreError(asFailure(err));
    } finally {
      setMoreBusy(false);
    }
  };
  const rows = first.state === 'ok' ? [...first.data.data, ...more] : [];
  return { first, rows, hasMore: cursor !== null, moreBusy, moreError, loadMore };
}
