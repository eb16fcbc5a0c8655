import { BILLING_WARNING_HEADER } from '../middleware/billing-warning';

/** A header as /openapi.json documents it (an OpenAPI Header Object). */
export interface HeaderDoc {
  description: string;
  required?: boolean;
  schema: { type: 'string'; format?: string; enum?: string[]; example?: string; pattern?: string };
}

const LIMIT_NOTE = "The lower of the tenant's and the key's per-minute limits.";
const REMAINING_NOTE =
  "The least left of the tenant's and the key's, as the admission saw it, not a live count: a request admitted from a capacity lease sees other keys' and other instances' requests only at the lease's next refill, and capacity leased but not yet used counts as used (docs/metering.md). 0 on a refusal.";

/**
 * The response headers the API sends, each documented once: `components/headers` of /openapi.json.
 * Routes name them with `headerRefs`, never with a copy.
 */
export const headerDocs = {
  'x-request-id': {
    description:
      "The id of this request (`req_...`), also in an error's `request_id` and in every log line of the request. Quote it when asking about an answer.",
    required: true,
    schema: { type: 'string', example: 'req_01M97D1FGJZ4P1NNSPAFZTHVAW' },
  },
  'x-model-version': {
    description:
      'The model version that served the request, `name@version`: what `model` resolved to (your pin, an alias, the default or its share of traffic).',
    schema: { type: 'string', example: 'chat@tiny-1' },
  },
  deprecation: {
    description:
      'Sent when the version that served the request is deprecated (RFC 9745): `@` and the Unix time it was deprecated at. It still answers until its `Sunset`; move to its replacement (GET /v1/models/{id}).',
    schema: { type: 'string', example: '@1767225600' },
  },
  sunset: {
    description:
      'Sent with `Deprecation` when the deprecated version has a retirement date (RFC 8594): after it, requests for that version are refused with `model_version_retired`.',
    schema: { type: 'string', example: 'Thu, 01 Oct 2026 00:00:00 GMT' },
  },
  'x-ratelimit-limit-requests': {
    description: `Requests allowed per minute. ${LIMIT_NOTE} Absent when no request limit applies.`,
    schema: { type: 'string', example: '60' },
  },
  'x-ratelimit-remaining-requests': {
    description: `Requests left in this minute. ${REMAINING_NOTE}`,
    schema: { type: 'string', example: '57' },
  },
  'x-ratelimit-reset-requests': {
    description: 'Time until the request count resets: the end of the minute (UTC), in seconds, e.g. `12s`.',
    schema: { type: 'string', example: '12s' },
  },
  'x-ratelimit-limit-tokens': {
    description: `Tokens allowed per minute (a chat request counts its prompt bound plus \`max_tokens\` while it runs). ${LIMIT_NOTE} Absent when no token limit applies.`,
    schema: { type: 'string', example: '100000' },
  },
  'x-ratelimit-remaining-tokens': {
    description: `Tokens left in this minute. ${REMAINING_NOTE}`,
    schema: { type: 'string', example: '98120' },
  },
  'x-ratelimit-reset-tokens': {
    description: 'Time until the token count resets: the end of the minute (UTC), in seconds, e.g. `12s`.',
    schema: { type: 'string', example: '12s' },
  },
  'retry-after': {
    description:
      'Seconds to wait before trying again. On a quota or spend-cap refusal, the time until the month (UTC) renews.',
    schema: { type: 'string', pattern: '^[0-9]+$', example: '12' },
  },
  'x-should-retry': {
    description:
      "`true` when retrying later can succeed (rate limits, a busy store); `false` when it cannot until something changes (the month's included units or the spend cap). The official OpenAI SDKs follow it.",
    schema: { type: 'string', enum: ['true', 'false'], example: 'true' },
  },
  [BILLING_WARNING_HEADER]: {
    description:
      "Sent while the tenant's payment is past due: calls keep working until the date it names, then stop until the invoice is paid (GET /account/billing).",
    schema: {
      type: 'string',
      example:
        'payment past due: API access continues until 2026-11-09T00:00:00.000Z, then stops until the invoice is paid (see /account/billing)',
    },
  },
  'idempotent-replayed': {
    description:
      '`true` when this is the stored answer of an earlier request with the same `Idempotency-Key` (not served or billed again).',
    schema: { type: 'string', enum: ['true'], example: 'true' },
  },
} as const satisfies Record<string, HeaderDoc>;

export type HeaderName = keyof typeof headerDocs;

/** `{ name: { $ref } }` for each header, as a response's `headers`. */
export function headerRefs(...names: HeaderName[]): Record<string, { $ref: string }> {
  return Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

/** On every authenticated `/v1` answer but 401 and 403 (middleware/rate-limit-headers.ts). */
export const rateLimitHeaderNames = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
] as const satisfies HeaderName[];

/** On the answers of routes that call a model, once the version is resolved (inference.ts). */
export const modelVersionHeaderNames = [
  'x-model-version',
  'deprecation',
  'sunset',
] as const satisfies HeaderName[];
