import { consolePagePrefixes, consolePages } from '../shared/console-routes';
import { VIEWER_IP_HEADER } from '../shared/http/client-ip';

/**
 * The CloudFront Function (viewer request, default behaviour only) that serves index.html for the
 * console's own pages, so a reload or an emailed link works. Generated from the same page list the
 * local server uses. It runs only on the default (S3) behaviour: API paths have their own
 * behaviours and keep their JSON 404s; CloudFront's custom error responses would apply to every
 * behaviour and turn an API 404 into the console's HTML, so there are none.
 *
 * ES5 on purpose: CloudFront Functions run a restricted JavaScript runtime.
 */
export function consoleRewriteFunctionCode(): string {
  const pages: Record<string, true> = {};
  for (const page of consolePages) pages[page] = true;
  return [
    `var PAGES = ${JSON.stringify(pages)};`,
    `var PREFIXES = ${JSON.stringify(consolePagePrefixes)};`,
    'function handler(event) {',
    '  var request = event.request;',
    "  var path = request.uri.length > 1 ? request.uri.replace(/\\/+$/, '') : request.uri;",
    '  var page = PAGES[path] === true;',
    '  for (var i = 0; !page && i < PREFIXES.length; i++) page = path.indexOf(PREFIXES[i]) === 0;',
    "  if (page) request.uri = '/index.html';",
    '  return request;',
    '}',
  ].join('\n');
}

/**
 * The CloudFront Function (viewer request, API behaviours) that passes the viewer's address to the
 * API in `VIEWER_IP_HEADER`, replacing whatever the viewer sent under that name. The API believes
 * it only beside the edge secret the distribution's API origins add (shared/http/client-ip.ts).
 */
export function viewerAddressFunctionCode(): string {
  return [
    'function handler(event) {',
    `  event.request.headers[${JSON.stringify(VIEWER_IP_HEADER)}] = { value: event.viewer.ip };`,
    '  return event.request;',
    '}',
  ].join('\n');
}
