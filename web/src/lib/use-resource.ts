import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type ApiFailure, asFailure } from './api';

export type Resource<T> =
  | { state: 'loading'; data?: T }
  | { state: 'ok'; data: T }
  | { state: 'unavailable'; error: ApiFailure }
  | { state: 'error'; error: ApiFailure; data?: T };

/**
 * Loads one thing for a page. A route this server does not have (404 "No route") is `unavailable`,
 * which pages show as "not available yet", never as an error and never with made-up data.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
): Resource<T> & { reload: () => void } {
  const [res, setRes] = useState<Resource<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const last = useRef<T | undefined>(undefined);
  useEffect(() => {
    const ctl = new AbortController();
    setRes({ state: 'loading', data: last.current });
    load(ctl.signal).then(
      (data) => {
        if (ctl.signal.aborted) return;
        last.current = data;
        setRes({ state: 'ok', data });
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        const failure = asFailure(err);
        setRes(
          failure.routeMissing
            ? { state: 'unavailable', error: failure }
            : { state: 'error', error: failure, data: last.current },
        );
      },
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...res, reload };
}
