/** HTTPS and not a loopback name: where a browser should be told to insist on HTTPS. */
export function wantsHsts(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return (
    url.protocol === 'https:' &&
    !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname) &&
    !url.hostname.endsWith('.localhost')
  );
}

/** Strict-Transport-Security: HTTPS for a year, subdomains included (the API's answers and the console's files). */
export const HSTS = 'max-age=31536000; includeSubDomains';
