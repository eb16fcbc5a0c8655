/**
 * An adapter a plane's function does not wire, because the routes that use it are served by
 * another plane's function (functions/api/planes/). Nothing in this function reaches it; if a
 * route were mounted on the wrong plane, the first use fails with the adapter's and the plane's
 * names (a 500 through the app's error handler) instead of an undefined method.
 */
export function unwired<T extends object>(adapter: string, plane: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      // Not a thenable: `await` on the proxy must not call into it.
      if (property === 'then' || typeof property === 'symbol') return undefined;
      throw new Error(`${adapter} is not wired in the ${plane} plane's function (read .${property})`);
    },
  });
}
