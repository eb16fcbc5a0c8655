import { useState } from 'preact/hooks';
import { ApiFailure } from './api';

/**
 * A form's submit state: busy while the request runs, the API's error afterwards, with the field
 * the envelope's `param` names so the page can show the message next to it.
 */
export function useSubmit<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (err) {
      setError(
        err instanceof ApiFailure
          ? err
          : new ApiFailure(0, {
              message: err instanceof Error ? err.message : String(err),
              type: 'client_error',
              code: 'client_error',
              param: null,
            }),
      );
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (param: string) => (error && error.param === param ? error.message : null);
  return { busy, error, run, fieldError, setError };
}

export const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
