/**
 * Generated from the API's OpenAPI document by `npm run api-types` (local/api-types.ts): do not
 * edit. The console names these types through ./types.ts.
 */

export interface paths {
    "/v1/text/sentiment": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Classify the sentiment of texts
         * @description Billed per input token, counted by the platform's text token rule: each run of letters, marks and digits is one token, and so is each other character that is not whitespace.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "model": "sentiment",
                     *       "input": [
                     *         "I love how fast this is.",
                     *         "The setup was confusing and slow."
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SentimentRequest"];
                };
            };
            responses: {
                /** @description One result per input, in order */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "list",
                         *       "model": "sentiment@v1",
                         *       "data": [
                         *         {
                         *           "object": "sentiment",
                         *           "index": 0,
                         *           "label": "positive",
                         *           "score": 0.37,
                         *           "tokens": 7
                         *         },
                         *         {
                         *           "object": "sentiment",
                         *           "index": 1,
                         *           "label": "negative",
                         *           "score": -0.437,
                         *           "tokens": 7
                         *         }
                         *       ],
                         *       "usage": {
                         *         "input_tokens": 14,
                         *         "total_tokens": 14,
                         *         "cost_usd": "0.000001400"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["SentimentResponse"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `rate_limit_requests` (the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`); `rate_limit_tokens` (the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)); `concurrency_limit` (too many requests in flight at once); `quota_exceeded` (the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)); `spend_cap_reached` (the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)); `insufficient_balance` (a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Bad gateway: `model_error` (the model failed or answered something unreadable (not billed)); `model_unavailable` (the model cannot be reached (not billed); try again shortly). */
                502: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `model_busy` (the model is at capacity (not billed); retry after `Retry-After`); `model_loading` (the model is loading (not billed); retry after `Retry-After`); `model_cold` (the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`); `model_not_installed` (the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Timed out: `model_timeout` (the model did not answer in time (not billed)). */
                504: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chat/completions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a chat completion (OpenAI-compatible)
         * @description Billed per input and output token, counted by the model's own tokenizer. With `stream: true` the answer is server-sent events of `chat.completion.chunk`s ending in `data: [DONE]`; `stream_options.include_usage` adds a last chunk with the usage and its cost. A failure once the stream has started arrives as an `event: error` whose data is the error envelope. A stream the client abandons is billed for the tokens generated until then; a model failure is not billed.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "model": "chat@smollm2-135m",
                     *       "messages": [
                     *         {
                     *           "role": "system",
                     *           "content": "You are a concise assistant."
                     *         },
                     *         {
                     *           "role": "user",
                     *           "content": "Name the three primary colors."
                     *         }
                     *       ],
                     *       "max_tokens": 64,
                     *       "temperature": 0.7
                     *     }
                     */
                    "application/json": components["schemas"]["ChatCompletionRequest"];
                };
            };
            responses: {
                /** @description The completion, or its chunks as server-sent events when `stream` is true */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "chat.completion",
                         *       "created": 1767225600,
                         *       "model": "chat@smollm2-135m",
                         *       "system_fingerprint": null,
                         *       "choices": [
                         *         {
                         *           "index": 0,
                         *           "message": {
                         *             "role": "assistant",
                         *             "content": "Red, yellow and blue.",
                         *             "refusal": null
                         *           },
                         *           "logprobs": null,
                         *           "finish_reason": "stop"
                         *         }
                         *       ],
                         *       "usage": {
                         *         "prompt_tokens": 31,
                         *         "completion_tokens": 7,
                         *         "total_tokens": 38,
                         *         "cost_usd": "0.000005200"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["ChatCompletion"];
                        /**
                         * @example data: {"id":"req_01M97D1FGJZ4P1NNSPAFZTHVAW","created":1767225600,"model":"chat@smollm2-135m","object":"chat.completion.chunk","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}
                         *
                         *     data: {"id":"req_01M97D1FGJZ4P1NNSPAFZTHVAW","created":1767225600,"model":"chat@smollm2-135m","object":"chat.completion.chunk","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"Red, yellow"},"logprobs":null,"finish_reason":null}]}
                         *
                         *     data: {"id":"req_01M97D1FGJZ4P1NNSPAFZTHVAW","created":1767225600,"model":"chat@smollm2-135m","object":"chat.completion.chunk","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" and blue."},"logprobs":null,"finish_reason":null}]}
                         *
                         *     data: {"id":"req_01M97D1FGJZ4P1NNSPAFZTHVAW","created":1767225600,"model":"chat@smollm2-135m","object":"chat.completion.chunk","system_fingerprint":null,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}
                         *
                         *     data: {"id":"req_01M97D1FGJZ4P1NNSPAFZTHVAW","created":1767225600,"model":"chat@smollm2-135m","object":"chat.completion.chunk","system_fingerprint":null,"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":7,"total_tokens":38,"cost_usd":"0.000005200"}}
                         *
                         *     data: [DONE]
                         */
                        "text/event-stream": string;
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `rate_limit_requests` (the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`); `rate_limit_tokens` (the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)); `concurrency_limit` (too many requests in flight at once); `quota_exceeded` (the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)); `spend_cap_reached` (the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)); `insufficient_balance` (a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Bad gateway: `model_error` (the model failed or answered something unreadable (not billed)); `model_unavailable` (the model cannot be reached (not billed); try again shortly). */
                502: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `model_busy` (the model is at capacity (not billed); retry after `Retry-After`); `model_loading` (the model is loading (not billed); retry after `Retry-After`); `model_cold` (the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`); `model_not_installed` (the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Timed out: `model_timeout` (the model did not answer in time (not billed)). */
                504: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/embeddings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Embed texts (OpenAI-compatible)
         * @description OpenAI's embeddings API: the official SDKs' `embeddings.create` works unchanged. Billed per input token, counted by the platform's text token rule (each run of letters, marks and digits is one token, and so is each other character that is not whitespace), so the usage record is written while the model runs.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "model": "embeddings",
                     *       "input": [
                     *         "The cat sat on the mat.",
                     *         "A kitten slept on the rug."
                     *       ],
                     *       "dimensions": 4
                     *     }
                     */
                    "application/json": components["schemas"]["EmbeddingRequest"];
                };
            };
            responses: {
                /** @description One vector per input, in order */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "data": [
                         *         {
                         *           "object": "embedding",
                         *           "index": 0,
                         *           "embedding": [
                         *             -0.3436,
                         *             0.4883,
                         *             0.3995,
                         *             -0.6956
                         *           ]
                         *         },
                         *         {
                         *           "object": "embedding",
                         *           "index": 1,
                         *           "embedding": [
                         *             0.2212,
                         *             0.5062,
                         *             0.5452,
                         *             -0.6305
                         *           ]
                         *         }
                         *       ],
                         *       "model": "embeddings@wink-100d",
                         *       "usage": {
                         *         "prompt_tokens": 14,
                         *         "total_tokens": 14,
                         *         "cost_usd": "0.000000280"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["EmbeddingResponse"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `rate_limit_requests` (the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`); `rate_limit_tokens` (the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)); `concurrency_limit` (too many requests in flight at once); `quota_exceeded` (the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)); `spend_cap_reached` (the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)); `insufficient_balance` (a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Bad gateway: `model_error` (the model failed or answered something unreadable (not billed)); `model_unavailable` (the model cannot be reached (not billed); try again shortly). */
                502: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `model_busy` (the model is at capacity (not billed); retry after `Retry-After`); `model_loading` (the model is loading (not billed); retry after `Retry-After`); `model_cold` (the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`); `model_not_installed` (the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Timed out: `model_timeout` (the model did not answer in time (not billed)). */
                504: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images/moderations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Classify an image as safe or not
         * @description Billed per image. The image is base64, a data URL or an https URL. Refused images (bad base64, a URL that cannot be fetched, wrong format, over the limits) are not billed.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "model": "image-moderation",
                     *       "image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                     *     }
                     */
                    "application/json": components["schemas"]["ImageModerationRequest"];
                };
            };
            responses: {
                /** @description Class scores and a verdict */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "moderation",
                         *       "model": "image-moderation@mobilenet-v2",
                         *       "results": [
                         *         {
                         *           "flagged": false,
                         *           "categories": {
                         *             "drawing": false,
                         *             "hentai": false,
                         *             "neutral": true,
                         *             "porn": false,
                         *             "sexy": false
                         *           },
                         *           "category_scores": {
                         *             "drawing": 0.0213,
                         *             "hentai": 0.0011,
                         *             "neutral": 0.9684,
                         *             "porn": 0.0027,
                         *             "sexy": 0.0065
                         *           }
                         *         }
                         *       ],
                         *       "usage": {
                         *         "images": 1,
                         *         "cost_usd": "0.000500000"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["ImageModerationResponse"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement); `invalid_image` (the image is not base64, not PNG, JPEG or WebP, or truncated (not billed)); `invalid_image_url` (the image URL could not be fetched: not https, a private, loopback or link-local address (also after a redirect), an error status, too slow (not billed)). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES); `image_too_large` (the image is over the version's byte or pixel limit (GET /v1/models lists them; not billed)). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `rate_limit_requests` (the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`); `rate_limit_tokens` (the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)); `concurrency_limit` (too many requests in flight at once); `quota_exceeded` (the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)); `spend_cap_reached` (the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)); `insufficient_balance` (a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Bad gateway: `model_error` (the model failed or answered something unreadable (not billed)); `model_unavailable` (the model cannot be reached (not billed); try again shortly). */
                502: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `model_busy` (the model is at capacity (not billed); retry after `Retry-After`); `model_loading` (the model is loading (not billed); retry after `Retry-After`); `model_cold` (the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`); `model_not_installed` (the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Timed out: `model_timeout` (the model did not answer in time (not billed)). */
                504: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images/ocr": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Read the text in an image
         * @description Billed per image. The image is base64, a data URL or an https URL. Refused images (bad base64, a URL that cannot be fetched, wrong format, over the limits) are not billed.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "model": "ocr",
                     *       "image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                     *     }
                     */
                    "application/json": components["schemas"]["OcrRequest"];
                };
            };
            responses: {
                /** @description The text, and each line */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "ocr",
                         *       "model": "ocr@ppocr-v4",
                         *       "text": "CORNER CAFE\nFlat white 3.40",
                         *       "lines": [
                         *         {
                         *           "text": "CORNER CAFE",
                         *           "confidence": 0.987,
                         *           "box": [
                         *             [
                         *               24,
                         *               18
                         *             ],
                         *             [
                         *               212,
                         *               18
                         *             ],
                         *             [
                         *               212,
                         *               46
                         *             ],
                         *             [
                         *               24,
                         *               46
                         *             ]
                         *           ]
                         *         },
                         *         {
                         *           "text": "Flat white 3.40",
                         *           "confidence": 0.962,
                         *           "box": [
                         *             [
                         *               24,
                         *               62
                         *             ],
                         *             [
                         *               236,
                         *               62
                         *             ],
                         *             [
                         *               236,
                         *               88
                         *             ],
                         *             [
                         *               24,
                         *               88
                         *             ]
                         *           ]
                         *         }
                         *       ],
                         *       "usage": {
                         *         "images": 1,
                         *         "cost_usd": "0.001500000"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["OcrResponse"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement); `invalid_image` (the image is not base64, not PNG, JPEG or WebP, or truncated (not billed)); `invalid_image_url` (the image URL could not be fetched: not https, a private, loopback or link-local address (also after a redirect), an error status, too slow (not billed)). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES); `image_too_large` (the image is over the version's byte or pixel limit (GET /v1/models lists them; not billed)). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `rate_limit_requests` (the tenant's, the project's or the key's requests per minute are used up (the message names which); retry after `Retry-After`); `rate_limit_tokens` (the tenant's, the project's or the key's tokens per minute would be exceeded (a request counts its prompt plus `max_tokens`)); `concurrency_limit` (too many requests in flight at once); `quota_exceeded` (the plan's included units for the month are used up (`x-should-retry: false`: upgrade, or wait for the month)); `spend_cap_reached` (the monthly spend cap (the tenant's or the key's) or the project's hard-stop budget would be exceeded (`x-should-retry: false`: raise it)); `insufficient_balance` (a prepaid account's credit balance cannot pay the request's worst case (`x-should-retry: false`, no `Retry-After`: add credit; not billed)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Bad gateway: `model_error` (the model failed or answered something unreadable (not billed)); `model_unavailable` (the model cannot be reached (not billed); try again shortly). */
                502: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `model_busy` (the model is at capacity (not billed); retry after `Retry-After`); `model_loading` (the model is loading (not billed); retry after `Retry-After`); `model_cold` (the version runs no copy now (scaled to zero while idle) and the call started one (not billed); retry after `Retry-After`); `model_not_installed` (the version is listed but its weights or endpoint are not installed (not billed; `x-should-retry: false`, retrying will not help: call an available version, `available` in GET /v1/models)). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Timed out: `model_timeout` (the model did not answer in time (not billed)). */
                504: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "x-model-version": components["headers"]["x-model-version"];
                        deprecation: components["headers"]["deprecation"];
                        sunset: components["headers"]["sunset"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The models your tenant may call, with versions, status and prices
         * @description OpenAI-compatible list: each model by name (with its versions, your pin and the version your plain requests get), followed by each callable version as `name@version`. Retired versions are left out; preview versions are listed with status `preview`. A key limited to some models or versions sees only those (and `serving_version` is the version its plain requests get).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every active model */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "data": [
                         *         {
                         *           "id": "sentiment",
                         *           "object": "model",
                         *           "created": 1767225600,
                         *           "owned_by": "tollgate",
                         *           "task": "text-sentiment",
                         *           "description": "English sentiment (positive, negative, neutral) with negation handling; wink-nlp.",
                         *           "billing_units": [
                         *             "input_tokens"
                         *           ],
                         *           "default_version": "v1",
                         *           "aliases": {
                         *             "latest": "v1",
                         *             "stable": "v1"
                         *           },
                         *           "pinned_version": null,
                         *           "serving_version": "sentiment@v1",
                         *           "versions": [
                         *             {
                         *               "id": "sentiment@v1",
                         *               "object": "model",
                         *               "created": 1767225600,
                         *               "owned_by": "tollgate",
                         *               "model": "sentiment",
                         *               "version": "v1",
                         *               "status": "active",
                         *               "description": "wink-nlp English lite model",
                         *               "released_at": "2026-01-01T00:00:00.000Z",
                         *               "deprecated_at": null,
                         *               "sunset_at": null,
                         *               "replacement": null,
                         *               "prices": [
                         *                 {
                         *                   "unit": "input_tokens",
                         *                   "usd": "0.100000000",
                         *                   "per": 1000000
                         *                 }
                         *               ],
                         *               "limits": {
                         *                 "max_input_tokens": 8192,
                         *                 "max_image_bytes": null,
                         *                 "max_image_pixels": null,
                         *                 "timeout_ms": 10000,
                         *                 "max_inputs": 64,
                         *                 "dimensions": null,
                         *                 "min_dimensions": null
                         *               },
                         *               "context_window": 8192,
                         *               "max_output_tokens": null,
                         *               "typical_latency_ms": {
                         *                 "p50": 3.2,
                         *                 "p90": 5.9,
                         *                 "requests": 12840,
                         *                 "days": 7
                         *               },
                         *               "sample": {
                         *                 "method": "POST",
                         *                 "path": "/v1/text/sentiment",
                         *                 "request": {
                         *                   "model": "sentiment@v1",
                         *                   "input": [
                         *                     "I love how fast this is."
                         *                   ]
                         *                 },
                         *                 "response": {
                         *                   "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *                   "object": "list",
                         *                   "model": "sentiment@v1",
                         *                   "data": [
                         *                     {
                         *                       "object": "sentiment",
                         *                       "index": 0,
                         *                       "label": "positive",
                         *                       "score": 0.37,
                         *                       "tokens": 7
                         *                     }
                         *                   ],
                         *                   "usage": {
                         *                     "input_tokens": 7,
                         *                     "total_tokens": 7,
                         *                     "cost_usd": "0.000000700"
                         *                   }
                         *                 }
                         *               },
                         *               "available": true,
                         *               "unavailable_reason": null,
                         *               "install_command": null
                         *             }
                         *           ]
                         *         },
                         *         {
                         *           "id": "sentiment@v1",
                         *           "object": "model",
                         *           "created": 1767225600,
                         *           "owned_by": "tollgate",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "status": "active",
                         *           "description": "wink-nlp English lite model",
                         *           "released_at": "2026-01-01T00:00:00.000Z",
                         *           "deprecated_at": null,
                         *           "sunset_at": null,
                         *           "replacement": null,
                         *           "prices": [
                         *             {
                         *               "unit": "input_tokens",
                         *               "usd": "0.100000000",
                         *               "per": 1000000
                         *             }
                         *           ],
                         *           "limits": {
                         *             "max_input_tokens": 8192,
                         *             "max_image_bytes": null,
                         *             "max_image_pixels": null,
                         *             "timeout_ms": 10000,
                         *             "max_inputs": 64,
                         *             "dimensions": null,
                         *             "min_dimensions": null
                         *           },
                         *           "context_window": 8192,
                         *           "max_output_tokens": null,
                         *           "typical_latency_ms": {
                         *             "p50": 3.2,
                         *             "p90": 5.9,
                         *             "requests": 12840,
                         *             "days": 7
                         *           },
                         *           "sample": {
                         *             "method": "POST",
                         *             "path": "/v1/text/sentiment",
                         *             "request": {
                         *               "model": "sentiment@v1",
                         *               "input": [
                         *                 "I love how fast this is."
                         *               ]
                         *             },
                         *             "response": {
                         *               "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *               "object": "list",
                         *               "model": "sentiment@v1",
                         *               "data": [
                         *                 {
                         *                   "object": "sentiment",
                         *                   "index": 0,
                         *                   "label": "positive",
                         *                   "score": 0.37,
                         *                   "tokens": 7
                         *                 }
                         *               ],
                         *               "usage": {
                         *                 "input_tokens": 7,
                         *                 "total_tokens": 7,
                         *                 "cost_usd": "0.000000700"
                         *               }
                         *             }
                         *           },
                         *           "available": true,
                         *           "unavailable_reason": null,
                         *           "install_command": null
                         *         }
                         *       ]
                         *     }
                         */
                        "application/json": components["schemas"]["ModelList"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One model, or one version of it
         * @description A version is shown even when retired, with the replacement to call instead. A key limited to some models or versions is answered 403 `model_not_in_key_scope` for the others.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description `name` for the model, `name@version` or `name@alias` for one version. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The model or the version */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Model"] | components["schemas"]["ModelVersion"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your tenant's usage and cost per day, model version and key
         * @description Filter by `model` (or `model@version`), `key_id` and `channel` (`online` or `batch`: each row says which). `?format=csv` or `Accept: text/csv` answers a CSV file. The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): `freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First day (UTC), inclusive. Default: the 1st of this month. */
                    start_date?: string;
                    /** @description Last day (UTC), inclusive. Default: today. */
                    end_date?: string;
                    /** @description Only this model (`chat`) or model version (`chat@smollm2-135m`). */
                    model?: string;
                    /** @description Only this API key. */
                    key_id?: string;
                    /** @description Only the keys of this project (`proj_default`: the default project). */
                    project_id?: string;
                    /** @description Only `online` calls or only `batch` lines. Default: both, as separate rows. */
                    channel?: "online" | "batch";
                    /** @description `csv` for a CSV file (as does `Accept: text/csv`). Default JSON. */
                    format?: "json" | "csv";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Daily aggregates, and up to when they are complete (`freshness`; the `x-usage-as-of` header) */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description The time the usage figures are complete up to (the `freshness.as_of` of a JSON answer), when known. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
                        "x-usage-as-of"?: string;
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "start_date": "2026-11-01",
                         *       "end_date": "2026-11-07",
                         *       "data": [
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "chat",
                         *           "version": "smollm2-135m",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 120,
                         *           "input_tokens": 38400,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006720000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 40,
                         *           "input_tokens": 560,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000056000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "batch",
                         *           "project_id": "proj_default",
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       ],
                         *       "totals": {
                         *         "requests": 1160,
                         *         "input_tokens": 52960,
                         *         "output_tokens": 9600,
                         *         "images": 0,
                         *         "cost_usd": "0.007476000"
                         *       },
                         *       "totals_by_channel": {
                         *         "online": {
                         *           "requests": 160,
                         *           "input_tokens": 38960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006776000"
                         *         },
                         *         "batch": {
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       },
                         *       "totals_by_project": [
                         *         {
                         *           "project_id": "proj_default",
                         *           "project_name": "Default",
                         *           "requests": 1160,
                         *           "input_tokens": 52960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.007476000"
                         *         }
                         *       ],
                         *       "freshness": {
                         *         "as_of": "2026-11-07T12:03:41.250Z",
                         *         "lag_ms": 850
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["UsageResponse"];
                        "text/csv": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account (a tenant and its owner) and send a verification email
         * @description Answers 202 whether or not the address already has an account, so the answer reveals nothing; the email that arrives says which. The tenant stays `pending_verification` (its keys cannot call) until verified.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["SignupRequest"];
                };
            };
            responses: {
                /** @description Check the inbox */
                202: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Accepted"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `email_unavailable` (the email could not be sent; try again in a few minutes); `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Verify an email address with the token from the email; activates a new tenant */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VerifyRequest"];
                };
            };
            responses: {
                /** @description Verified */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["VerifyResponse"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Gone: `email_token_expired` (the emailed token has expired: ask for a new one). */
                410: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/verify/resend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a new verification email
         * @description Answers 202 whatever the address; only an unverified account gets an email.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ResendRequest"];
                };
            };
            responses: {
                /** @description Check the inbox */
                202: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Accepted"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `email_unavailable` (the email could not be sent; try again in a few minutes); `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in (tenant users and operators); returns a session as cookies and as tokens
         * @description Sets `tg_session` (the access token) and `tg_refresh` cookies, HttpOnly, SameSite=Strict, Secure except on localhost, and returns the same tokens for scripts. Failed attempts are limited per address and per client IP (429 with Retry-After).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "email": "ada@example.com",
                     *       "password": "correct horse battery staple"
                     *     }
                     */
                    "application/json": components["schemas"]["LoginRequest"];
                };
            };
            responses: {
                /** @description Logged in */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "session",
                         *       "token_type": "Bearer",
                         *       "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6InNrXzAxIn0.eyJzdWIiOiJ1c3JfMDFNOTcifQ.c2lnbmF0dXJl",
                         *       "expires_in": 900,
                         *       "refresh_token": "tgr_ZriMGOrK6uJsvr-V7t7MJ25n5XB15vFFpKBxm0Lr9uY",
                         *       "refresh_expires_at": "2026-12-02T09:14:05.120Z",
                         *       "session_id": "ses_01M97D1FGKXQ4V7Z2D9R1B8N6C",
                         *       "subject": {
                         *         "kind": "user",
                         *         "user_id": "usr_01M97D1FGKT5YEAA16KHV1Z6B3",
                         *         "tenant_id": "ten_01M97D1FGK2GHMSW9Y76AT843E"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `invalid_credentials` (wrong email or password). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `email_not_verified` (verify the email address first). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Trade a refresh token for a new access token and a new refresh token
         * @description Refresh tokens are single use. Presenting one that was already traded (a sign it was copied) ends the whole session.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RefreshRequest"];
                };
            };
            responses: {
                /** @description A fresh pair */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End this session
         * @description Its access tokens are refused from the next request on, and its refresh token is dead.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Logged out */
                204: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/password-reset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Email a password reset token
         * @description Answers 202 whatever the address, so it reveals nothing.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["PasswordResetRequest"];
                };
            };
            responses: {
                /** @description Check the inbox */
                202: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Accepted"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `email_unavailable` (the email could not be sent; try again in a few minutes); `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/password-reset/confirm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Set a new password with the emailed token; ends every session of the account */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["PasswordResetConfirm"];
                };
            };
            responses: {
                /** @description Password changed */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PasswordResetDone"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Gone: `email_token_expired` (the emailed token has expired: ask for a new one). */
                410: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/invitations/accept": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Accept a team invitation: creates your user in the inviting tenant
         * @description The address is verified by the emailed token. Log in afterwards with the chosen password.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AcceptInvitationRequest"];
                };
            };
            responses: {
                /** @description You are a member */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            object: "member";
                            tenant_id: string;
                            member: components["schemas"]["Member"];
                        };
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Gone: `email_token_expired` (the emailed token has expired: ask for a new one). */
                410: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The public keys session tokens are signed with (ES256), by kid */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A JWK set */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Jwks"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your tenant (plan, status), you, and your role */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The account */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Account"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Change your name, or the tenant's name and contact address */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["UpdateAccountRequest"];
                };
            };
            responses: {
                /** @description The account */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Account"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your tenant's API keys (never their secrets), oldest first */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    /** @description From the previous page’s `next_cursor`. */
                    cursor?: string;
                    /** @description Only this project’s keys (a page may then hold fewer than `limit`). Unknown: 404. */
                    project_id?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of keys */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKeyList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create an API key; the secret is in this answer and nowhere else, ever
         * @description Owners and developers of the key’s project (docs/projects.md): a project viewer gets 403. An archived project takes no new key (409). `scope` restricts the key to some models or versions, endpoints, read-only use and IP ranges (each checked: an unknown model or version, an alias, an invalid CIDR range is a 400 naming it); `expires_at` ends it. A call outside its scope is 403 with a code naming the scope, and is not billed.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "name": "production",
                     *       "scopes": [
                     *         "models:invoke"
                     *       ],
                     *       "limits": {
                     *         "requests_per_minute": 60
                     *       },
                     *       "scope": {
                     *         "models": [
                     *           "chat@tiny-1",
                     *           "sentiment"
                     *         ],
                     *         "endpoints": [
                     *           "chat",
                     *           "text"
                     *         ],
                     *         "ip_allowlist": [
                     *           "203.0.113.0/24"
                     *         ]
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CreateKeyRequest"];
                };
            };
            responses: {
                /** @description The key, with its secret */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *       "object": "api_key",
                         *       "name": "production",
                         *       "prefix": "tg_live_eIAbkw",
                         *       "status": "active",
                         *       "scopes": [
                         *         "models:invoke"
                         *       ],
                         *       "limits": {
                         *         "requests_per_minute": 60
                         *       },
                         *       "created_at": "2026-11-02T09:14:05.120Z",
                         *       "created_by": "usr_01M97D1FGKT5YEAA16KHV1Z6B3",
                         *       "last_used_at": null,
                         *       "expires_at": null,
                         *       "rotated_to": null,
                         *       "project_id": "proj_default",
                         *       "scope": {
                         *         "models": [
                         *           "chat@tiny-1",
                         *           "sentiment"
                         *         ],
                         *         "endpoints": [
                         *           "chat",
                         *           "text"
                         *         ],
                         *         "read_only": false,
                         *         "ip_allowlist": [
                         *           "203.0.113.0/24"
                         *         ]
                         *       },
                         *       "secret": "tg_live_eIAbkwcRnkk6OXrNfAe5OZUTb3MTwwj9dxJnzhFhemm"
                         *     }
                         */
                        "application/json": components["schemas"]["ApiKeyWithSecret"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `tenant_inactive` (the account is not active (unverified or suspended)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/keys/{key_id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke an API key
         * @description Refused at once by the instance that handled the revocation, and everywhere within AUTH_CACHE_TTL_MS (5 s by default). Revoking a revoked key is a no-op. Owners and developers of the key’s project (a project viewer gets 403).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    key_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The revoked key */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKey"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/keys/{key_id}/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate an API key: a new secret now, the old one valid for a grace period, then dead
         * @description The new key keeps the name, scopes, scope (models, endpoints, read-only, IP ranges: exactly), limits and project. A key can be rotated once; rotate its successor next time. Owners and developers of the key’s project (a project viewer gets 403).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    key_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["RotateKeyRequest"];
                };
            };
            responses: {
                /** @description The new key (with its secret) and the old one */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKeyRotation"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `tenant_inactive` (the account is not active (unverified or suspended)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change an API key's scope (models, endpoints, read-only, IP ranges), its expiry, or its limits (requests and tokens per minute, its monthly budget: hard stop or alert only, its alerts)
         * @description Scope and expiry: owners and developers of the key’s project; limits: owners of the key’s project (tenant owners, or a project role of owner). Only a console session may change a key: no route an API key can call changes keys, so a key cannot widen its own scope. Bites at once on the instance that handled it, everywhere within AUTH_CACHE_TTL_MS. A scope or expiry change is in the audit trail. A key's limits only narrow the tenant's; a key over one gets 429 naming the key. A budget alerts at the thresholds it names (default 50, 80 and 100%), once each per key per month, by email to its recipients and in GET /account/alerts. A recipient that is not a member of your team is a 400 naming it.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    key_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["UpdateKeyRequest"];
                };
            };
            responses: {
                /** @description The key */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKey"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/team": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Members of your tenant and pending invitations */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The team */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Team"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/team/invitations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Invite someone by email with a role; the email carries a token valid for 7 days */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["InviteRequest"];
                };
            };
            responses: {
                /** @description Invited */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Invitation"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `email_unavailable` (the email could not be sent; try again in a few minutes). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/team/invitations/{invitation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Withdraw an invitation; its token stops working */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    invitation_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Withdrawn */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            /** @enum {string} */
                            object: "invitation";
                            /** @enum {boolean} */
                            deleted: true;
                        };
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/team/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove a member: their user and sessions end at once (the tenant’s API keys stay) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    user_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Removed */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            user_id: string;
                            /** @enum {string} */
                            object: "member";
                            /** @enum {boolean} */
                            deleted: true;
                        };
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        /** Change a member's role (the last owner keeps theirs) */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    user_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RoleChange"];
                };
            };
            responses: {
                /** @description The member */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Member"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your tenant's projects: the default project first, then oldest first (archived ones too)
         * @description Every member. `your_role` is what you may do in each (docs/projects.md).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The projects */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ProjectList"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a project (tenant owners), optionally with its limits and monthly budget
         * @description A project's limits nest inside the tenant's: a budget above the account's spend cap, or a rate above the account's, is a 400 naming the field.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "name": "Search",
                     *       "limits": {
                     *         "requests_per_minute": 60,
                     *         "monthly_budget_usd": 50
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CreateProjectRequest"];
                };
            };
            responses: {
                /** @description The project */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Project"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/projects/{project_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One project, with its limits and your role in it
         * @description Every member. Another tenant's project, or an unknown id: 404.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The project */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Project"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Rename a project or set its limits and monthly budget (the project's owners)
         * @description A project's limits nest inside the tenant's: a budget above the account's spend cap, or a rate above the account's, is a 400 naming the field. An archived project takes no change (409).
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "limits": {
                     *         "tokens_per_minute": 20000,
                     *         "monthly_budget_usd": 25,
                     *         "budget_mode": "alert_only"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["UpdateProjectRequest"];
                };
            };
            responses: {
                /** @description The project */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Project"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/projects/{project_id}/archive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Archive a project (tenant owners): its keys are revoked, its history and usage stay
         * @description An archived project takes no new key and no change. Archiving an archived project again revokes any key of it still active (a retry finishes the job) and is otherwise a no-op. The default project is never archived (400): it holds every key made without a project.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The archived project */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Project"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/projects/{project_id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every member of the tenant with their role in this project: given here, or carried from the tenant's */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The members */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ProjectMemberList"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/projects/{project_id}/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Give a member of the tenant a role in this project (the project's owners)
         * @description The role replaces, in this project only, what their tenant role gives them (tenant owners stay owners everywhere). A user not in your tenant: 404.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                    user_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    /**
                     * @example {
                     *       "role": "viewer"
                     *     }
                     */
                    "application/json": components["schemas"]["ProjectRoleChange"];
                };
            };
            responses: {
                /** @description The member */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ProjectMember"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        /** Take away a member's role in this project: their tenant role applies here again */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    project_id: string;
                    user_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The member */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ProjectMember"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/limits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your plan's limits, the effective limits, this month's use and its alerts
         * @description Owners and billing members. Per-key limits are on each key (`GET /account/keys`). This month's use: The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): `freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The limits */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description The time the usage figures are complete up to (the `freshness.as_of` of a JSON answer), when known. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
                        "x-usage-as-of"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Limits"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Set or remove your monthly spend cap
         * @description Owners and billing members. Takes effect at once on the instance that handled it and everywhere within AUTH_CACHE_TTL_MS. Requests that would take the month past the cap are refused with 429 `spend_cap_reached`.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["UpdateLimitsRequest"];
                };
            };
            responses: {
                /** @description The limits after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Limits"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Usage alerts: 50, 80 and 100% of the spend cap and of the included units, newest first
         * @description Each is raised once per month and emailed to the account contact. 100% also means a request was refused by that limit.
         */
        get: {
            parameters: {
                query?: {
                    /** @description One month’s alerts; default: the newest 100 of any month. */
                    month?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Alerts */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["UsageAlertList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/credits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your credit: balance by kind, grants, and the ledger (newest first, `cursor` pages on)
         * @description Owners and billing members. A prepaid account is admitted against this balance: a request whose worst case it cannot pay is refused with 429 `insufficient_balance` (`x-should-retry: false`), not billed.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The credit */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Credits"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/credits/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your trial, the free-only switch and low-balance alerts */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The settings */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CreditSettings"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Turn free-only on or off; set the low-balance alerts
         * @description Owners and billing members. Absent fields stay. Audited (`tenant.free_only`, `tenant.low_balance_alerts`). Free-only bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreditSettingsPatch"];
                };
            };
            responses: {
                /** @description The settings after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CreditSettings"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/account/credits/auto-recharge": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Auto-recharge: top up by a set amount, with the saved card, when the balance falls below a threshold
         * @description Owners and billing members. Turning it on takes `threshold_usd`, `amount_usd` (5.00 to 5000.00) and `max_per_day` (1 to 10), and a card saved by a top-up with `save_card` (else 409 `conflict`). The balance is checked by the billing job about once a minute, never on the request path. A declined recharge turns auto-recharge off, emails the account, and shows in `last_attempt` until it is turned on again.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AutoRechargeRequest"];
                };
            };
            responses: {
                /** @description The auto-recharge settings after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AutoRecharge"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/credits/grants/{grant_id}/receipt": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The receipt of a paid credit grant, as an HTML page to keep or print
         * @description Owners and billing members. Every `paid` grant has one: credit bought through Stripe (its receipt also links Stripe's own), and paid credit an operator granted (ledger-only platforms). Promotional and trial credit, and another account's grants, are 404.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    grant_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The receipt */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your tenant's usage and cost per day, model version and key (JSON or CSV)
         * @description Owners and billing members. Filter by `model` (or `model@version`), `key_id` and `project_id` (unknown: 404); each row names its key's project, and `totals_by_project` groups the rows by project; `?format=csv` or `Accept: text/csv` answers a CSV file (RFC 4180, a header row). The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): `freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First day (UTC), inclusive. Default: the 1st of this month. */
                    start_date?: string;
                    /** @description Last day (UTC), inclusive. Default: today. */
                    end_date?: string;
                    /** @description Only this model (`chat`) or model version (`chat@smollm2-135m`). */
                    model?: string;
                    /** @description Only this API key. */
                    key_id?: string;
                    /** @description Only the keys of this project (`proj_default`: the default project). */
                    project_id?: string;
                    /** @description Only `online` calls or only `batch` lines. Default: both, as separate rows. */
                    channel?: "online" | "batch";
                    /** @description `csv` for a CSV file (as does `Accept: text/csv`). Default JSON. */
                    format?: "json" | "csv";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Daily aggregates, and up to when they are complete (`freshness`; the `x-usage-as-of` header) */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description The time the usage figures are complete up to (the `freshness.as_of` of a JSON answer), when known. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
                        "x-usage-as-of"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "start_date": "2026-11-01",
                         *       "end_date": "2026-11-07",
                         *       "data": [
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "chat",
                         *           "version": "smollm2-135m",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 120,
                         *           "input_tokens": 38400,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006720000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 40,
                         *           "input_tokens": 560,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000056000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "batch",
                         *           "project_id": "proj_default",
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       ],
                         *       "totals": {
                         *         "requests": 1160,
                         *         "input_tokens": 52960,
                         *         "output_tokens": 9600,
                         *         "images": 0,
                         *         "cost_usd": "0.007476000"
                         *       },
                         *       "totals_by_channel": {
                         *         "online": {
                         *           "requests": 160,
                         *           "input_tokens": 38960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006776000"
                         *         },
                         *         "batch": {
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       },
                         *       "totals_by_project": [
                         *         {
                         *           "project_id": "proj_default",
                         *           "project_name": "Default",
                         *           "requests": 1160,
                         *           "input_tokens": 52960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.007476000"
                         *         }
                         *       ],
                         *       "freshness": {
                         *         "as_of": "2026-11-07T12:03:41.250Z",
                         *         "lag_ms": 850
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["UsageResponse"];
                        "text/csv": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The models your tenant may call, with versions, status and prices (for the console)
         * @description The list `GET /v1/models` answers an API key of this tenant, read with the session: the console shows the catalog, prices and your pins without holding a key. Every member may read it.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every active model, then each callable version */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "data": [
                         *         {
                         *           "id": "sentiment",
                         *           "object": "model",
                         *           "created": 1767225600,
                         *           "owned_by": "tollgate",
                         *           "task": "text-sentiment",
                         *           "description": "English sentiment (positive, negative, neutral) with negation handling; wink-nlp.",
                         *           "billing_units": [
                         *             "input_tokens"
                         *           ],
                         *           "default_version": "v1",
                         *           "aliases": {
                         *             "latest": "v1",
                         *             "stable": "v1"
                         *           },
                         *           "pinned_version": null,
                         *           "serving_version": "sentiment@v1",
                         *           "versions": [
                         *             {
                         *               "id": "sentiment@v1",
                         *               "object": "model",
                         *               "created": 1767225600,
                         *               "owned_by": "tollgate",
                         *               "model": "sentiment",
                         *               "version": "v1",
                         *               "status": "active",
                         *               "description": "wink-nlp English lite model",
                         *               "released_at": "2026-01-01T00:00:00.000Z",
                         *               "deprecated_at": null,
                         *               "sunset_at": null,
                         *               "replacement": null,
                         *               "prices": [
                         *                 {
                         *                   "unit": "input_tokens",
                         *                   "usd": "0.100000000",
                         *                   "per": 1000000
                         *                 }
                         *               ],
                         *               "limits": {
                         *                 "max_input_tokens": 8192,
                         *                 "max_image_bytes": null,
                         *                 "max_image_pixels": null,
                         *                 "timeout_ms": 10000,
                         *                 "max_inputs": 64,
                         *                 "dimensions": null,
                         *                 "min_dimensions": null
                         *               },
                         *               "context_window": 8192,
                         *               "max_output_tokens": null,
                         *               "typical_latency_ms": {
                         *                 "p50": 3.2,
                         *                 "p90": 5.9,
                         *                 "requests": 12840,
                         *                 "days": 7
                         *               },
                         *               "sample": {
                         *                 "method": "POST",
                         *                 "path": "/v1/text/sentiment",
                         *                 "request": {
                         *                   "model": "sentiment@v1",
                         *                   "input": [
                         *                     "I love how fast this is."
                         *                   ]
                         *                 },
                         *                 "response": {
                         *                   "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *                   "object": "list",
                         *                   "model": "sentiment@v1",
                         *                   "data": [
                         *                     {
                         *                       "object": "sentiment",
                         *                       "index": 0,
                         *                       "label": "positive",
                         *                       "score": 0.37,
                         *                       "tokens": 7
                         *                     }
                         *                   ],
                         *                   "usage": {
                         *                     "input_tokens": 7,
                         *                     "total_tokens": 7,
                         *                     "cost_usd": "0.000000700"
                         *                   }
                         *                 }
                         *               },
                         *               "available": true,
                         *               "unavailable_reason": null,
                         *               "install_command": null
                         *             }
                         *           ]
                         *         },
                         *         {
                         *           "id": "sentiment@v1",
                         *           "object": "model",
                         *           "created": 1767225600,
                         *           "owned_by": "tollgate",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "status": "active",
                         *           "description": "wink-nlp English lite model",
                         *           "released_at": "2026-01-01T00:00:00.000Z",
                         *           "deprecated_at": null,
                         *           "sunset_at": null,
                         *           "replacement": null,
                         *           "prices": [
                         *             {
                         *               "unit": "input_tokens",
                         *               "usd": "0.100000000",
                         *               "per": 1000000
                         *             }
                         *           ],
                         *           "limits": {
                         *             "max_input_tokens": 8192,
                         *             "max_image_bytes": null,
                         *             "max_image_pixels": null,
                         *             "timeout_ms": 10000,
                         *             "max_inputs": 64,
                         *             "dimensions": null,
                         *             "min_dimensions": null
                         *           },
                         *           "context_window": 8192,
                         *           "max_output_tokens": null,
                         *           "typical_latency_ms": {
                         *             "p50": 3.2,
                         *             "p90": 5.9,
                         *             "requests": 12840,
                         *             "days": 7
                         *           },
                         *           "sample": {
                         *             "method": "POST",
                         *             "path": "/v1/text/sentiment",
                         *             "request": {
                         *               "model": "sentiment@v1",
                         *               "input": [
                         *                 "I love how fast this is."
                         *               ]
                         *             },
                         *             "response": {
                         *               "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *               "object": "list",
                         *               "model": "sentiment@v1",
                         *               "data": [
                         *                 {
                         *                   "object": "sentiment",
                         *                   "index": 0,
                         *                   "label": "positive",
                         *                   "score": 0.37,
                         *                   "tokens": 7
                         *                 }
                         *               ],
                         *               "usage": {
                         *                 "input_tokens": 7,
                         *                 "total_tokens": 7,
                         *                 "cost_usd": "0.000000700"
                         *               }
                         *             }
                         *           },
                         *           "available": true,
                         *           "unavailable_reason": null,
                         *           "install_command": null
                         *         }
                         *       ]
                         *     }
                         */
                        "application/json": components["schemas"]["ModelList"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/models/pins": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your tenant's model pins */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Every pin, with the version it resolves to now */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            object: "list";
                            data: components["schemas"]["ModelPin"][];
                        };
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/models/pins/{model}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Pin a model to a version for your tenant (overrides the default and traffic weights) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ModelPinRequest"];
                };
            };
            responses: {
                /** @description The pin */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ModelPin"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it); `model_not_found` (no such model, version or alias); `model_version_retired` (that version is retired; the message names its replacement). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        /** Remove a pin: the model follows the default and traffic weights again */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Removed */
                204: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Served calls, newest first, filtered by key, project, model version, status and time
         * @description The usage records of the last 30 days (24 hours by default), newest first; `after` the previous page’s `last_id` pages on. Refused and failed calls are counted per minute at `/account/requests/refusals`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Only calls made with this key. */
                    key_id?: string;
                    /** @description Only calls of keys in this project. */
                    project_id?: string;
                    /** @description Only this model (`chat`) or the version that served (`chat@smollm2-135m`). */
                    model?: string;
                    status?: "succeeded" | "open" | "void";
                    /** @description Calls that came in at or after this time. Default: 24 hours ago. */
                    from?: string;
                    /** @description Calls that came in at or before this time. Default: now. */
                    to?: string;
                    /** @description Calls per page (default 50). */
                    limit?: number;
                    /** @description The previous page’s `last_id`: the next page starts with the call before it. */
                    after?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of calls */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["RequestList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/requests/refusals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Refused and failed calls: counts per minute, key and reason
         * @description Every 4xx or 5xx answered to one of your keys, counted per UTC minute, key and reason (the error code), newest minute first: scope and limit refusals, bad input, model failures. A refusal shows here within about a second; counts are kept 30 days. Filter by `key_id`, `project_id`, `reason` and time; `cursor` pages on.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Only refusals of this key. */
                    key_id?: string;
                    /** @description Only refusals of keys in this project. */
                    project_id?: string;
                    /** @description Only this reason: the error code answered (`rate_limit_requests`, ...). */
                    reason?: string;
                    /** @description From this minute on. Default: 24 hours ago. */
                    from?: string;
                    /** @description Up to this minute. Default: now. */
                    to?: string;
                    /** @description Rows per page (default 100). */
                    limit?: number;
                    /** @description From the previous page’s `next_cursor`. */
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of counts */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["RefusalCountList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/requests/{request_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One served call, by its request id
         * @description The usage record of a call your keys made: status, the version that served it, tokens or images, cost, latency, key, project and channel (online or a batch line). Read consistently: a call is here as soon as it is answered. Bodies are never stored. A refused call has no record (see `/account/requests/refusals`); an id of another tenant is 404.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The `x-request-id` of the answer (also `request_id` in an error envelope). */
                    request_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The call */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Request"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your tenant's audit trail, newest first: who changed what, when, before and after; JSON or CSV
         * @description Owners only. Keys created, revoked, rotated and their limits; members invited, joined, re-roled and removed; spend cap, projects and scopes; and Tollgate’s changes to your account (its operators not named, their notes left out). Filter by `action` (or `api_key.*`), `actor` (a member’s id or email, or `user`, `operator`, `system`), `target_type` and time; a filtered page may hold fewer than `limit` entries while `next_cursor` is not null. `?format=csv` or `Accept: text/csv` answers a CSV file of up to 5000 entries (`x-next-cursor` names the rest).
         */
        get: {
            parameters: {
                query?: {
                    /** @description Entries per page: JSON at most 200 (default 50); CSV at most 5000 (the default). */
                    limit?: number;
                    /** @description From the previous page’s `next_cursor`. */
                    cursor?: string;
                    /** @description One action (`api_key.revoke`), or every action on a kind of target (`api_key.*`). */
                    action?: string;
                    /** @description Who: a member’s (or operator’s) id or email address, or every actor of a kind: `user`, `operator`, `system`. */
                    actor?: string;
                    /** @description Only entries about this kind of target. */
                    target_type?: "tenant" | "operator" | "api_key" | "model" | "plan" | "project" | "member";
                    /** @description From this time, inclusive. */
                    from?: string;
                    /** @description Up to this time, exclusive. */
                    to?: string;
                    /** @description `csv` for a CSV file (as does `Accept: text/csv`). Default JSON. */
                    format?: "json" | "csv";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of entries */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description CSV only: where the next file starts, when the range holds more than this one. */
                        "x-next-cursor"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccountAuditList"];
                        "text/csv": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Tenants, newest first, or found by id, member email or name prefix
         * @description With `status`, a page holds only matching tenants and may be shorter than `limit`; keep following `next_cursor`.
         */
        get: {
            parameters: {
                query?: {
                    /** @description A tenant id, a member’s email address, or the start of a tenant’s name. */
                    q?: string;
                    status?: "pending_verification" | "active" | "past_due" | "suspended";
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of tenants */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TenantList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants/{tenant_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One tenant with its members, keys (never secrets), invitations and projects */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The tenant */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TenantDetail"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Change a tenant's plan (bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS) */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["TenantUpdate"];
                };
            };
            responses: {
                /** @description The tenant after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Tenant"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/admin/tenants/{tenant_id}/suspend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Suspend a tenant: its keys answer 403 tenant_inactive (here at once, everywhere within AUTH_CACHE_TTL_MS) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["StatusChangeRequest"];
                };
            };
            responses: {
                /** @description The tenant after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Tenant"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants/{tenant_id}/reactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Reactivate a suspended tenant */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: {
                content: {
                    "application/json": components["schemas"]["StatusChangeRequest"];
                };
            };
            responses: {
                /** @description The tenant after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Tenant"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The audit log, newest first: who, what, when, before and after; filtered, JSON or CSV
         * @description Every entry: operators’ actions, the platform’s, and tenants’ members’ changes in their accounts. Filter by `action` (or `api_key.*`), `actor` (id, email or kind), `tenant_id`, `target_type` and time; a filtered page may hold fewer than `limit` entries while `next_cursor` is not null. Targets are named (`name`), and a tenant’s entries name the tenant (`tenant_name`). `?format=csv` or `Accept: text/csv` answers a CSV file of up to 5000 entries (`x-next-cursor` names the rest).
         */
        get: {
            parameters: {
                query?: {
                    /** @description Entries per page: JSON at most 200 (default 50); CSV at most 5000 (the default). */
                    limit?: number;
                    /** @description From the previous page’s `next_cursor`. */
                    cursor?: string;
                    /** @description One action (`api_key.revoke`), or every action on a kind of target (`api_key.*`). */
                    action?: string;
                    /** @description Who: a member’s (or operator’s) id or email address, or every actor of a kind: `user`, `operator`, `system`. */
                    actor?: string;
                    /** @description Only entries about this kind of target. */
                    target_type?: "tenant" | "operator" | "api_key" | "model" | "plan" | "project" | "member";
                    /** @description From this time, inclusive. */
                    from?: string;
                    /** @description Up to this time, exclusive. */
                    to?: string;
                    /** @description `csv` for a CSV file (as does `Accept: text/csv`). Default JSON. */
                    format?: "json" | "csv";
                    /** @description Only entries about this tenant (its own trail: one Query of the tenant's partition). */
                    tenant_id?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of entries */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description CSV only: where the next file starts, when the range holds more than this one. */
                        "x-next-cursor"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AuditList"];
                        "text/csv": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants/{tenant_id}/limits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A tenant's plan, overrides, owner's cap, effective limits, this month's use and alerts */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The limits */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Limits"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Override a tenant's plan limits (raise or lower any of them)
         * @description Absent fields stay; null removes an override (the plan applies again); `included` changes per unit. The owner's own spend cap still lowers an overridden cap. Audited (`tenant.limits`, before and after); bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["LimitsPatch"];
                };
            };
            responses: {
                /** @description The limits after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Limits"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/admin/tenants/{tenant_id}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One tenant's usage and cost per day, model version and key (JSON or CSV)
         * @description The report a tenant sees at `GET /account/usage`, for operators: same query, same shape. Reads are not audited (as `GET /admin/tenants/{tenant_id}`). The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): `freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First day (UTC), inclusive. Default: the 1st of this month. */
                    start_date?: string;
                    /** @description Last day (UTC), inclusive. Default: today. */
                    end_date?: string;
                    /** @description Only this model (`chat`) or model version (`chat@smollm2-135m`). */
                    model?: string;
                    /** @description Only this API key. */
                    key_id?: string;
                    /** @description Only the keys of this project (`proj_default`: the default project). */
                    project_id?: string;
                    /** @description Only `online` calls or only `batch` lines. Default: both, as separate rows. */
                    channel?: "online" | "batch";
                    /** @description `csv` for a CSV file (as does `Accept: text/csv`). Default JSON. */
                    format?: "json" | "csv";
                };
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Daily aggregates, and up to when they are complete (`freshness`; the `x-usage-as-of` header) */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description The time the usage figures are complete up to (the `freshness.as_of` of a JSON answer), when known. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
                        "x-usage-as-of"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "list",
                         *       "start_date": "2026-11-01",
                         *       "end_date": "2026-11-07",
                         *       "data": [
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "chat",
                         *           "version": "smollm2-135m",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 120,
                         *           "input_tokens": 38400,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006720000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "online",
                         *           "project_id": "proj_default",
                         *           "requests": 40,
                         *           "input_tokens": 560,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000056000"
                         *         },
                         *         {
                         *           "date": "2026-11-02",
                         *           "model": "sentiment",
                         *           "version": "v1",
                         *           "key_id": "key_01M97D1FGKSHVR7Y2D2M4CYTB3",
                         *           "key_name": "production",
                         *           "channel": "batch",
                         *           "project_id": "proj_default",
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       ],
                         *       "totals": {
                         *         "requests": 1160,
                         *         "input_tokens": 52960,
                         *         "output_tokens": 9600,
                         *         "images": 0,
                         *         "cost_usd": "0.007476000"
                         *       },
                         *       "totals_by_channel": {
                         *         "online": {
                         *           "requests": 160,
                         *           "input_tokens": 38960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.006776000"
                         *         },
                         *         "batch": {
                         *           "requests": 1000,
                         *           "input_tokens": 14000,
                         *           "output_tokens": 0,
                         *           "images": 0,
                         *           "cost_usd": "0.000700000"
                         *         }
                         *       },
                         *       "totals_by_project": [
                         *         {
                         *           "project_id": "proj_default",
                         *           "project_name": "Default",
                         *           "requests": 1160,
                         *           "input_tokens": 52960,
                         *           "output_tokens": 9600,
                         *           "images": 0,
                         *           "cost_usd": "0.007476000"
                         *         }
                         *       ],
                         *       "freshness": {
                         *         "as_of": "2026-11-07T12:03:41.250Z",
                         *         "lag_ms": 850
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["UsageResponse"];
                        "text/csv": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants/{tenant_id}/credits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A tenant's credit: balance by kind, grants, and the ledger (newest first, `cursor` pages on) */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The credit */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Credits"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Grant credit (paid, promotional or trial) to a tenant
         * @description In USD, above 0, expiring in the future. It burns promotional (trial included) before paid, earliest expiry first; what is not burned by its expiry leaves the balance. Audited (`tenant.credit_grant`) in the same transaction. The tenant is admitted against the balance once it is `prepaid` (PATCH).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreditGrantRequest"];
                };
            };
            responses: {
                /** @description The credit after the grant */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Credits"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Switch a tenant to prepaid (admitted against its balance, 429 insufficient_balance at zero) or back; turn free-only on or off
         * @description Audited (`tenant.billing_mode`, `tenant.free_only`). `free_only` is applied after `billing_mode`. Bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["BillingModeRequest"];
                };
            };
            responses: {
                /** @description The credit after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Credits"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/admin/plans": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every plan, by id */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The plans */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PlanList"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a plan
         * @description Absent limits are unlimited. `trial_usd` with `trial_days`: the trial credit each newly verified tenant on the plan gets (absent or 0: none). Audited (`plan.create`).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreatePlanRequest"];
                };
            };
            responses: {
                /** @description The plan */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Plan"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/plans/{plan_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One plan */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    plan_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The plan */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Plan"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change a plan: its tenants get the new limits within CATALOG_CACHE_TTL_MS
         * @description Absent fields stay; a limit set to null is removed (unlimited); `included` changes per unit; `trial_usd` or `trial_days` set to 0 (or null) removes the trial, which tenants already verified keep. Audited (`plan.update`, with before and after); an edit that changes nothing writes nothing.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    plan_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["UpdatePlanRequest"];
                };
            };
            responses: {
                /** @description The plan after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Plan"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/admin/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Usage and revenue across tenants: by day, model version and channel, totals, top tenants
         * @description Read from the aggregates the usage consumer derives from the usage records (Queries per shard, never a Scan). Top tenants are ranked by cost over the calendar months the range touches. The figures come from aggregates that lag the usage records by the usage consumer (typically under a second): `freshness.as_of` and the `x-usage-as-of` header say up to when they are complete.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First day (UTC). Default: the 1st of this month. */
                    start_date?: string;
                    /** @description Last day (UTC). Default: today. */
                    end_date?: string;
                    /** @description How many top tenants (default 10). */
                    top?: number;
                    /** @description Only `online` calls or only `batch` lines in `by_day`, `by_model` and `totals`. Default: both, as separate rows. Top tenants are ranked by all their usage. */
                    channel?: "online" | "batch";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Platform usage */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        /** @description The time the usage figures are complete up to (the `freshness.as_of` of a JSON answer), when known. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
                        "x-usage-as-of"?: string;
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PlatformUsage"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The whole catalog: every model and version, retired ones too, with traffic and revisions */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The catalog, read fresh (not from the gateway cache) */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            object: "list";
                            data: components["schemas"]["AdminModel"][];
                        };
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Publish a new model with its first version */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminCreateModel"];
                };
            };
            responses: {
                /** @description Created */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Per model version: answers, refusal and error rates, latency percentiles
         * @description Each API instance counts in memory and adds its counts to one item per day and model version every HEALTH_FLUSH_MS, so the last few seconds may not show yet. Busiest first.
         */
        get: {
            parameters: {
                query?: {
                    /** @description First day (UTC). Default: the 1st of this month. */
                    start_date?: string;
                    /** @description Last day (UTC). Default: today. */
                    end_date?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Model version health */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ModelHealth"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Publish a new version (it takes no traffic until weights, an alias or a promotion give it some) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminVersion"];
                };
            };
            responses: {
                /** @description Created */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/traffic": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Set the traffic weights between versions (canary) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminTraffic"];
                };
            };
            responses: {
                /** @description The model with its new weights */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/versions/{version}/promote": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Make a version the default and/or point aliases at it */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                    version: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminPromote"];
                };
            };
            responses: {
                /** @description The model after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/versions/{version}/deprecate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Deprecate a version: it still answers, with Deprecation and Sunset headers */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                    version: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminDeprecate"];
                };
            };
            responses: {
                /** @description The model after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/versions/{version}/retire": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Retire a version: calls to it are refused with an error naming the replacement */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                    version: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminRetire"];
                };
            };
            responses: {
                /** @description The model after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/models/{model}/versions/{version}/prices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Change the prices of a version (a new price book; recorded usage keeps its old one)
         * @description Online prices, and optionally batch prices (`batch_prices_nano_usd`, at most the online price per unit; without them batch lines cost half the online price). Both are in the audited change.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    model: string;
                    version: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["AdminPrices"];
                };
            };
            responses: {
                /** @description The model after the change */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminModel"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/public/pricing": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Plans and model prices, for anyone (no key, no login)
         * @description What the console's public pricing page shows: each plan's included units and limits, and each model's versions with their cards (prices, context window, max output, typical latency and a sample request). Preview versions are listed with status `preview`; retired ones are left out. Cacheable for a minute.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The plans and the model catalog */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "object": "pricing",
                         *       "currency": "usd",
                         *       "plans": [
                         *         {
                         *           "id": "free",
                         *           "object": "plan",
                         *           "name": "Free",
                         *           "overage": "hard_stop",
                         *           "included": {
                         *             "input_tokens": 1000000,
                         *             "output_tokens": 200000,
                         *             "images": 500
                         *           },
                         *           "requests_per_minute": 60,
                         *           "tokens_per_minute": 40000,
                         *           "max_concurrent": 4,
                         *           "spend_cap_usd": null,
                         *           "trial_usd": "5.000000000",
                         *           "trial_days": 30,
                         *           "self_serve": true
                         *         }
                         *       ],
                         *       "models": [
                         *         {
                         *           "id": "sentiment",
                         *           "task": "text-sentiment",
                         *           "description": "English sentiment (positive, negative, neutral) with negation handling; wink-nlp.",
                         *           "billing_units": [
                         *             "input_tokens"
                         *           ],
                         *           "default_version": "v1",
                         *           "versions": [
                         *             {
                         *               "id": "sentiment@v1",
                         *               "object": "model",
                         *               "created": 1767225600,
                         *               "owned_by": "tollgate",
                         *               "model": "sentiment",
                         *               "version": "v1",
                         *               "status": "active",
                         *               "description": "wink-nlp English lite model",
                         *               "released_at": "2026-01-01T00:00:00.000Z",
                         *               "deprecated_at": null,
                         *               "sunset_at": null,
                         *               "replacement": null,
                         *               "prices": [
                         *                 {
                         *                   "unit": "input_tokens",
                         *                   "usd": "0.100000000",
                         *                   "per": 1000000
                         *                 }
                         *               ],
                         *               "limits": {
                         *                 "max_input_tokens": 8192,
                         *                 "max_image_bytes": null,
                         *                 "max_image_pixels": null,
                         *                 "timeout_ms": 10000,
                         *                 "max_inputs": 64,
                         *                 "dimensions": null,
                         *                 "min_dimensions": null
                         *               },
                         *               "context_window": 8192,
                         *               "max_output_tokens": null,
                         *               "typical_latency_ms": {
                         *                 "p50": 3.2,
                         *                 "p90": 5.9,
                         *                 "requests": 12840,
                         *                 "days": 7
                         *               },
                         *               "sample": {
                         *                 "method": "POST",
                         *                 "path": "/v1/text/sentiment",
                         *                 "request": {
                         *                   "model": "sentiment@v1",
                         *                   "input": [
                         *                     "I love how fast this is."
                         *                   ]
                         *                 },
                         *                 "response": {
                         *                   "id": "req_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *                   "object": "list",
                         *                   "model": "sentiment@v1",
                         *                   "data": [
                         *                     {
                         *                       "object": "sentiment",
                         *                       "index": 0,
                         *                       "label": "positive",
                         *                       "score": 0.37,
                         *                       "tokens": 7
                         *                     }
                         *                   ],
                         *                   "usage": {
                         *                     "input_tokens": 7,
                         *                     "total_tokens": 7,
                         *                     "cost_usd": "0.000000700"
                         *                   }
                         *                 }
                         *               },
                         *               "available": true,
                         *               "unavailable_reason": null,
                         *               "install_command": null
                         *             }
                         *           ]
                         *         }
                         *       ]
                         *     }
                         */
                        "application/json": components["schemas"]["Pricing"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Plan, billing status, this month's running cost, the invoice preview and past invoices */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Billing */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Billing"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing/checkout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Upgrade to pay-as-you-go: a Stripe Checkout URL that collects a card and starts the metered subscription */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The Checkout session; send the browser to `url` */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BillingSessionUrl"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry); `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing/portal": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A Stripe customer-portal URL: invoices, cards, the subscription */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The portal session; send the browser to `url` */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BillingSessionUrl"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing/plans": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The plans an owner may choose, compared, with the current one marked
         * @description The self-serve plans and the current plan (which may be one an operator set): price basis, included units, limits and what happens past the included units.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The plans */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PlanOptions"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing/plan": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change plan: at once (ledger-only, or a Stripe subscription updated), or through Stripe Checkout
         * @description Owners and billing members. Only self-serve plans (see `GET /account/billing/plans`). Without Stripe the change applies at once. With Stripe, moving from Free to a paid plan answers 202 with a Checkout `url` (the plan applies when Stripe reports the payment); between paid plans the subscription is updated and the change applies at once; moving to Free ends the subscription at the month's end (the month's usage billed up to the move is invoiced then; nothing after it is billed) and Free's limits apply at once. Audited (`tenant.plan`).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ChangePlanRequest"];
                };
            };
            responses: {
                /** @description Applied */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PlanChange"];
                    };
                };
                /** @description Pay at Stripe Checkout first: send the browser to `url` */
                202: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["PlanChange"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `tenant_inactive` (the account is not active (unverified or suspended)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/billing/statements/{month}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A month's statement from the ledger, as an HTML page to keep or print
         * @description Owners and billing members. What the ledger bills for the month: each model version and unit beyond the included units of the plan the account is on now, at the catalog's prices (batch lines on lines of their own, at the batch price), each line rounded to the cent as an invoice rounds it. It is the document of a platform without Stripe (ledger-only); with Stripe, Stripe's invoices are the bill and this is the ledger's side of them. The current month is so far. Months before the account existed, more than 12 back or not begun are 404.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    month: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The statement */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "text/html": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/credits/top-ups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Buy credit: a Stripe Checkout URL for a one-time payment ("Tollgate credit")
         * @description Owners and billing members. `amount_usd` is US dollars as a decimal string (or number) with at most 2 decimal places, from 5.00 to 5000.00. Once Stripe confirms the payment, the amount is credited once as a `paid` grant expiring 365 days after the payment. With `save_card`, the card is kept for auto-recharge. Without Stripe (ledger-only), 409 `billing_not_connected`: an operator grants credit.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["TopUpRequest"];
                };
            };
            responses: {
                /** @description The Checkout session; send the browser to `url` */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TopUpSession"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks/stripe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stripe's events (Checkout completed, invoices paid or failed, subscriptions changed)
         * @description Called by Stripe, not by people. The `Stripe-Signature` header is verified on the raw body with the endpoint signing secret (STRIPE_WEBHOOK_SECRET); a bad signature or a timestamp older than STRIPE_WEBHOOK_TOLERANCE_SECONDS is refused and changes nothing. Each event id is applied once.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    "stripe-signature": string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Received */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["WebhookReceived"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it); `invalid_signature` (the `Stripe-Signature` does not match the body, or its timestamp is too old). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/finance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Operator finance: receivables, credit sold/used/expired/outstanding, MRR, past due, refunds and credit notes
         * @description For one month (`month`) or a range of months (`from`, `to`, at most 24). Credit comes from monthly totals kept with the ledger (one Query per shard); receivables, refunds and credit notes from Stripe (at most 2,000 of each) or, in ledger-only mode, from the invoice previews (at most 200 tenant-months). See docs/billing.md, "Operator finance".
         */
        get: {
            parameters: {
                query?: {
                    /** @description One calendar month (UTC). Default: this month. */
                    month?: string;
                    /** @description First month of a range (with `to`), inclusive. */
                    from?: string;
                    /** @description Last month of a range, inclusive (at most 24 months). */
                    to?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The report */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Finance"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/finance/tenants/{tenant_id}/refunds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Refund part or all of a tenant's payment through Stripe (a top-up, or an invoice's payment)
         * @description Stripe only (ledger-only: 409 billing_not_connected). The payment must be the tenant's (else 404), succeeded, in USD, and the amount at most what is left to refund. Idempotent: the Stripe idempotency key is derived from the tenant, the payment, the amount in cents and the optional `Idempotency-Key` header. Audited (`tenant.refund`) once. The refund takes no credit out of a balance: see docs/billing.md.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Optional. Without it, a second request for the same amount of the same payment (or invoice) is the same refund (or credit note), answered again; send a new key to issue another of the same amount. */
                    "idempotency-key"?: string;
                };
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RefundRequest"];
                };
            };
            responses: {
                /** @description The refund an identical earlier request issued */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["IssuedRefundOrCreditNote"];
                    };
                };
                /** @description The refund, issued */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["IssuedRefundOrCreditNote"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry); `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/finance/tenants/{tenant_id}/credit-notes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Issue a credit note on one of a tenant's Stripe invoices
         * @description On an open invoice it lowers what is due; on a paid one the amount goes to the customer's Stripe balance, applied to the next invoice (to give money back, refund the payment). Stripe only (ledger-only: 409 billing_not_connected); the invoice must be the tenant's (else 404), open or paid, in USD, and the amount at most what it can still be credited. Idempotent like refunds; audited (`tenant.credit_note`) once.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Optional. Without it, a second request for the same amount of the same payment (or invoice) is the same refund (or credit note), answered again; send a new key to issue another of the same amount. */
                    "idempotency-key"?: string;
                };
                path: {
                    tenant_id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreditNoteRequest"];
                };
            };
            responses: {
                /** @description The credit note an identical earlier request issued */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["IssuedRefundOrCreditNote"];
                    };
                };
                /** @description The credit note, issued */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["IssuedRefundOrCreditNote"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `conflict` (the current state forbids it, or it changed meanwhile: read again and retry); `billing_not_connected` (billing is not connected on this platform (no Stripe key)). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`); `billing_unavailable` (Stripe did not answer, or billing is not set up yet; retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List files
         * @description Newest first; `after` (a file id) and `limit` page through them.
         */
        get: {
            parameters: {
                query?: {
                    purpose?: "batch" | "batch_output";
                    limit?: number;
                    /** @description A file id: the page after it. */
                    after?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of files */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FileList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Upload a batch input file
         * @description JSONL, one request per line: `{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`. Every line is checked here (JSON, a unique `custom_id` of 1 to 64 letters, digits and `_-.:`, a batchable `url`, an object `body`); a bad file is refused naming its first bad line, and nothing is kept. Up to `BATCH_FILE_MAX_BYTES` (4 MiB by default) and `BATCH_MAX_LINES` lines.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "multipart/form-data": components["schemas"]["FileUpload"];
                };
            };
            responses: {
                /** @description The stored file */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "file-01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "file",
                         *       "bytes": 1184,
                         *       "created_at": 1795571831,
                         *       "filename": "reviews.jsonl",
                         *       "purpose": "batch",
                         *       "status": "processed",
                         *       "expires_at": null,
                         *       "status_details": null
                         *     }
                         */
                        "application/json": components["schemas"]["FileObject"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files/{file_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One file */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    file_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The file */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "file-01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "file",
                         *       "bytes": 1184,
                         *       "created_at": 1795571831,
                         *       "filename": "reviews.jsonl",
                         *       "purpose": "batch",
                         *       "status": "processed",
                         *       "expires_at": null,
                         *       "status_details": null
                         *     }
                         */
                        "application/json": components["schemas"]["FileObject"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete a file
         * @description Refused (409 `file_in_use`) while a batch that reads it has not ended.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    file_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FileDeleted"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `file_in_use` (the file is the input of a batch that is still running). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files/{file_id}/content": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A file's content
         * @description The JSONL as uploaded, or a batch output or error file.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    file_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The bytes */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/jsonl": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/batches": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List batches
         * @description Newest first; `after` (a batch id) and `limit` page through them.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    /** @description A batch id: the page after it. */
                    after?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of batches */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BatchList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create a batch
         * @description Runs every line of an uploaded file against `endpoint` within 24 hours, billed at the version's batch price (half the online price unless an operator set it). Every line is validated here, body and model, and a bad line is refused naming it, creating nothing. A key with a scope needs the `batch` endpoint and the batch's own (`endpoint_not_in_key_scope`), and every line's model in its scope (`model_not_in_key_scope`, naming the line); the lines run as the key, with its scope as it is when each runs. Batch lines count against `BATCH_LINES_PER_DAY`, never against the online per-minute limits; the month's limits, spend caps and balance still hold (a line they refuse stops the batch, and the lines left are failed with that code, not billed).
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /**
                     * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
                     * @example retry-7d3f2a9c
                     */
                    "Idempotency-Key"?: components["parameters"]["Idempotency-Key"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateBatchRequest"];
                };
            };
            responses: {
                /** @description The batch, in progress */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        "idempotent-replayed": components["headers"]["idempotent-replayed"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "batch_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "batch",
                         *       "endpoint": "/v1/chat/completions",
                         *       "errors": null,
                         *       "input_file_id": "file-01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "completion_window": "24h",
                         *       "status": "in_progress",
                         *       "output_file_id": null,
                         *       "error_file_id": null,
                         *       "created_at": 1795571831,
                         *       "in_progress_at": 1795571831,
                         *       "expires_at": 1795658231,
                         *       "finalizing_at": null,
                         *       "completed_at": null,
                         *       "failed_at": null,
                         *       "expired_at": null,
                         *       "cancelling_at": null,
                         *       "cancelled_at": null,
                         *       "request_counts": {
                         *         "total": 1000,
                         *         "completed": 412,
                         *         "failed": 3
                         *       },
                         *       "metadata": {
                         *         "job": "nightly-reviews"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["Batch"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)); `model_not_in_key_scope` (the key's scope does not include this model or the version it would be served (not billed); the message lists what it may call). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Conflict: `idempotency_in_progress` (a request with this `Idempotency-Key` is still running (retry after `Retry-After`), or completed as a stream that cannot be replayed). */
                409: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unprocessable: `idempotency_key_reused` (this `Idempotency-Key` was used with a different request). */
                422: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)); `batch_limit_reached` (the batch would pass the batch lines a day the account may enqueue (apart from online limits)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/batches/{batch_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One batch
         * @description `request_counts` are live while it runs.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The batch */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "id": "batch_01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "object": "batch",
                         *       "endpoint": "/v1/chat/completions",
                         *       "errors": null,
                         *       "input_file_id": "file-01M97D1FGJZ4P1NNSPAFZTHVAW",
                         *       "completion_window": "24h",
                         *       "status": "in_progress",
                         *       "output_file_id": null,
                         *       "error_file_id": null,
                         *       "created_at": 1795571831,
                         *       "in_progress_at": 1795571831,
                         *       "expires_at": 1795658231,
                         *       "finalizing_at": null,
                         *       "completed_at": null,
                         *       "failed_at": null,
                         *       "expired_at": null,
                         *       "cancelling_at": null,
                         *       "cancelled_at": null,
                         *       "request_counts": {
                         *         "total": 1000,
                         *         "completed": 412,
                         *         "failed": 3
                         *       },
                         *       "metadata": {
                         *         "job": "nightly-reviews"
                         *       }
                         *     }
                         */
                        "application/json": components["schemas"]["Batch"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/batches/{batch_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a batch
         * @description `cancelling` at once: no new line starts within about a second; lines already answered are kept and billed, and it ends `cancelled` with their output. A batch already ended is answered as it is.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The batch */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Batch"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_api_key` (no `Authorization` header); `invalid_api_key` (the key is malformed, unknown, revoked or expired). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `tenant_inactive` (the account is not active (unverified or suspended)); `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `ip_not_in_key_allowlist` (the address the request came from (as the edge vouches for it) is outside the key's IP ranges, or is not known (not billed)); `endpoint_not_in_key_scope` (the key's scope does not include this endpoint (chat, embeddings, text, images, batch; not billed)); `key_read_only` (the key is read-only: it may list models and read usage, files and batches, nothing else (not billed)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `rate_limited` (too many attempts (invalid keys from one address, failed logins, emails to one address)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        "x-ratelimit-limit-requests": components["headers"]["x-ratelimit-limit-requests"];
                        "x-ratelimit-remaining-requests": components["headers"]["x-ratelimit-remaining-requests"];
                        "x-ratelimit-reset-requests": components["headers"]["x-ratelimit-reset-requests"];
                        "x-ratelimit-limit-tokens": components["headers"]["x-ratelimit-limit-tokens"];
                        "x-ratelimit-remaining-tokens": components["headers"]["x-ratelimit-remaining-tokens"];
                        "x-ratelimit-reset-tokens": components["headers"]["x-ratelimit-reset-tokens"];
                        "x-tollgate-warning": components["headers"]["x-tollgate-warning"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/batches": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your tenant's batches, newest first, with live request counts
         * @description Every member who may see keys (owner, developer, viewer) may read batches. `after` (a batch id, the last of the previous page) and `limit` page through them.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    /** @description A batch id: the page after it. */
                    after?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of batches */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccountBatchList"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Upload a batch input file and create its batch, in one call
         * @description Owners and developers (who may make keys and call models) may create batches; viewers and billing may not. The file is checked as `POST /v1/files` and `POST /v1/batches` check it (JSONL, unique `custom_id`s, each line's `url` and body for `endpoint`, its model), before anything is kept: a bad line is a 400 naming it. `key_id` must be an active key of the tenant allowed to call models (a scoped key: not read-only, with the batch endpoints and this one, and every line's model in its scope): the lines run and are billed as that key's, at the batch price, against the batch lines a day (`BATCH_LINES_PER_DAY`).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "multipart/form-data": components["schemas"]["AccountBatchUpload"];
                };
            };
            responses: {
                /** @description The batch, in progress */
                201: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccountBatch"];
                    };
                };
                /** @description Bad request: `invalid_json` (the body is not valid JSON); `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site); `tenant_inactive` (the account is not active (unverified or suspended)). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too large: `request_too_large` (the body is larger than MAX_BODY_BYTES). */
                413: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unsupported media type: `unsupported_media_type` (the body is not sent as `Content-Type: application/json`). */
                415: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Too many requests: `batch_limit_reached` (the batch would pass the batch lines a day the account may enqueue (apart from online limits)). */
                429: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/batches/{batch_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One of your batches
         * @description Every member who may see keys (owner, developer, viewer) may read batches. `request_counts` are live while it runs. Another tenant's batch is a 404.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The batch */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccountBatch"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/batches/{batch_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel one of your batches
         * @description Owners and developers (who may make keys and call models) may cancel; viewers and billing may not. `cancelling` at once: no new line starts within about a second; lines already answered are kept and billed, and it ends `cancelled` with their output. A batch already ended is answered as it is.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The batch */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccountBatch"];
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/batches/{batch_id}/output": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A batch's output file: one answer per line that succeeded
         * @description Every member who may see keys (owner, developer, viewer) may read batches. JSONL as `GET /v1/files/{file_id}/content` gives it; a 404 while the batch runs, or when it has no such file (no line succeeded).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The JSONL, as an attachment */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/jsonl": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/account/batches/{batch_id}/errors": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A batch's error file: one line per request that failed, expired or was not run
         * @description Every member who may see keys (owner, developer, viewer) may read batches. JSONL as `GET /v1/files/{file_id}/content` gives it; a 404 while the batch runs, or when it has no such file (no line failed).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    batch_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The JSONL, as an attachment */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/jsonl": string;
                    };
                };
                /** @description Bad request: `invalid_request` (a field is missing or out of range; `param` names it). */
                400: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not found: `not_found` (no such resource (another tenant's ids are not found either)). */
                404: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/batches": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The batch backlog: active batches, lines waiting and throughput per model version
         * @description Operators only. Throughput is counted from the line results (each says when and by which version it was answered), over the active batches and those that ended within the hour.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The backlog */
                200: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdminBatchBacklog"];
                    };
                };
                /** @description Not authenticated: `missing_credentials` (no session: log in first); `invalid_token` (the token is not valid, its session has ended, or an API key was sent instead); `token_expired` (the access token has expired: refresh it at POST /auth/refresh). */
                401: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Not allowed: `forbidden` (the key lacks the route's scope, the role may not do this, or a cookie write came from another site). */
                403: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Server error: `internal_error` (the server failed; the request id in the answer finds it in the logs). */
                500: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Unavailable: `store_unavailable` (the data store did not answer, so nothing was done (not billed); retry after `Retry-After`). */
                503: {
                    headers: {
                        "x-request-id": components["headers"]["x-request-id"];
                        "retry-after": components["headers"]["retry-after"];
                        "x-should-retry": components["headers"]["x-should-retry"];
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        SentimentResponse: {
            /** @example req_01JD0000000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "list";
            /**
             * @description The version that served the request.
             * @example sentiment@v1
             */
            model: string;
            data: {
                /** @enum {string} */
                object: "sentiment";
                index: number;
                /** @enum {string} */
                label: "positive" | "negative" | "neutral";
                /** @description From -1 (negative) to 1 (positive). */
                score: number;
                tokens: number;
            }[];
            usage: {
                input_tokens: number;
                total_tokens: number;
                /**
                 * @description Exact cost in USD.
                 * @example 0.000000500
                 */
                cost_usd: string;
            };
        };
        Error: {
            error: {
                /** @description What went wrong and what to do, for people. */
                message: string;
                /**
                 * @description The OpenAI error type the code belongs to.
                 * @enum {string}
                 */
                type: "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "rate_limit_error" | "insufficient_quota" | "api_error";
                /**
                 * @description What went wrong, for programs: each response lists the codes it can carry.
                 * @enum {string}
                 */
                code: "invalid_json" | "invalid_request" | "model_not_found" | "invalid_signature" | "model_version_retired" | "invalid_image" | "invalid_image_url" | "missing_api_key" | "invalid_api_key" | "missing_credentials" | "invalid_credentials" | "invalid_token" | "token_expired" | "tenant_inactive" | "forbidden" | "email_not_verified" | "model_not_in_key_scope" | "endpoint_not_in_key_scope" | "key_read_only" | "ip_not_in_key_allowlist" | "not_found" | "method_not_allowed" | "conflict" | "idempotency_in_progress" | "file_in_use" | "billing_not_connected" | "email_token_expired" | "idempotency_key_reused" | "request_too_large" | "image_too_large" | "unsupported_media_type" | "rate_limited" | "rate_limit_requests" | "rate_limit_tokens" | "concurrency_limit" | "batch_limit_reached" | "quota_exceeded" | "spend_cap_reached" | "insufficient_balance" | "internal_error" | "model_error" | "model_unavailable" | "store_unavailable" | "model_busy" | "model_loading" | "model_cold" | "model_not_installed" | "email_unavailable" | "billing_unavailable" | "model_timeout";
                /** @description The request field (or header) at fault, e.g. `messages[0].content`. */
                param: string | null;
                /** @description The `x-request-id` of the answer. */
                request_id?: string;
            };
        };
        SentimentRequest: {
            /**
             * @description A model name, `name@version` or `name@alias`.
             * @example sentiment
             */
            model: string;
            /**
             * @description A text, or up to 64 texts, to classify.
             * @example I love how fast this is.
             */
            input: string | string[];
        };
        ChatCompletion: {
            id: string;
            /** @enum {string} */
            object: "chat.completion";
            created: number;
            /**
             * @description The version that served it.
             * @example chat@tiny-1
             */
            model: string;
            system_fingerprint: null;
            choices: {
                index: number;
                message: {
                    /** @enum {string} */
                    role: "assistant";
                    content: string;
                    refusal: null;
                };
                logprobs: null;
                /** @enum {string} */
                finish_reason: "stop" | "length";
            }[];
            usage: {
                prompt_tokens: number;
                completion_tokens: number;
                total_tokens: number;
                /**
                 * @description Exact cost in USD.
                 * @example 0.000004150
                 */
                cost_usd: string;
            };
        };
        ChatCompletionRequest: {
            /**
             * @description A model name, `name@version` or `name@alias`.
             * @example chat
             */
            model: string;
            messages: {
                /** @enum {string} */
                role: "system" | "developer" | "user" | "assistant";
                content: string | {
                    /** @enum {string} */
                    type: "text";
                    text: string;
                }[];
                name?: string;
            }[];
            /** @description Most tokens to generate; at most the version's limit, which is also the default. */
            max_tokens?: number | null;
            /** @description Same as `max_tokens` (wins if both are given). */
            max_completion_tokens?: number | null;
            /** @description 0 is greedy. Default 1. */
            temperature?: number | null;
            top_p?: number | null;
            stop?: string | string[] | null;
            /** @enum {number|null} */
            n?: 1 | null;
            stream?: boolean | null;
            stream_options?: {
                include_usage?: boolean;
            } | null;
            /** @enum {boolean|null} */
            logprobs?: false | null;
            tools?: unknown[];
            response_format?: {
                /** @enum {string} */
                type: "text";
            } | null;
            presence_penalty?: number | null;
            frequency_penalty?: number | null;
            seed?: number | null;
            user?: string;
        };
        EmbeddingResponse: {
            /** @enum {string} */
            object: "list";
            data: {
                /** @enum {string} */
                object: "embedding";
                index: number;
                /** @description Unit length. A base64 string of little-endian float32 with `encoding_format: "base64"`. */
                embedding: number[] | string;
            }[];
            /**
             * @description The version that served it.
             * @example embeddings@wink-100d
             */
            model: string;
            usage: {
                prompt_tokens: number;
                total_tokens: number;
                /**
                 * @description Exact cost in USD.
                 * @example 0.000000240
                 */
                cost_usd: string;
            };
        };
        EmbeddingRequest: {
            /**
             * @description A model name, `name@version` or `name@alias`.
             * @example embeddings
             */
            model: string;
            /**
             * @description A text, or an array of texts (at most the version's `max_inputs`, each at most its `max_input_tokens`). Arrays of token ids are refused.
             * @example [
             *       "The cat sat on the mat.",
             *       "A kitten slept on the rug."
             *     ]
             */
            input: string | string[];
            /**
             * @description `base64`: each vector as little-endian float32 bytes, base64. Default `float`.
             * @enum {string}
             */
            encoding_format?: "float" | "base64";
            /** @description A shorter vector (its first components, scaled back to unit length), where the version allows it (`dimensions`, `min_dimensions` in /v1/models). */
            dimensions?: number;
            /** @description Accepted and ignored. */
            user?: string;
        };
        ImageModerationResponse: {
            id: string;
            /** @enum {string} */
            object: "moderation";
            /**
             * @description The version that served it.
             * @example image-moderation@mobilenet-v2
             */
            model: string;
            results: {
                /** @description True when porn + hentai + sexy >= 0.5. */
                flagged: boolean;
                /** @description Each class whose score is >= 0.5. */
                categories: {
                    drawing: boolean;
                    hentai: boolean;
                    neutral: boolean;
                    porn: boolean;
                    sexy: boolean;
                };
                /** @description Class probabilities; they sum to 1. */
                category_scores: {
                    drawing: number;
                    hentai: number;
                    neutral: number;
                    porn: number;
                    sexy: number;
                };
            }[];
            usage: {
                images: number;
                cost_usd: string;
            };
        };
        ImageModerationRequest: {
            /**
             * @description A model name, `name@version` or `name@alias`.
             * @example image-moderation
             */
            model: string;
            /**
             * @description A PNG, JPEG or WebP image: base64, a data URL (`data:image/png;base64,...`) or an `https` URL, as a string or in the OpenAI shapes `{"url": ...}` and `{"type": "image_url", "image_url": {"url": ...}}`. A URL is fetched by the gateway: https only, public addresses only (after DNS and on every redirect), within the byte limit and IMAGE_URL_TIMEOUT_MS; the type is read from the bytes. Limits per version (bytes and pixels) are listed by GET /v1/models.
             * @example data:image/png;base64,iVBORw0KGgo...
             */
            image: string | {
                /**
                 * @description An `https` URL of the image, or a data URL (`data:image/png;base64,...`).
                 * @example https://example.com/receipt.png
                 */
                url: string;
                /**
                 * @description Accepted and not used.
                 * @enum {string}
                 */
                detail?: "auto" | "low" | "high";
            } | {
                /** @enum {string} */
                type: "image_url";
                image_url: {
                    /**
                     * @description An `https` URL of the image, or a data URL (`data:image/png;base64,...`).
                     * @example https://example.com/receipt.png
                     */
                    url: string;
                    /**
                     * @description Accepted and not used.
                     * @enum {string}
                     */
                    detail?: "auto" | "low" | "high";
                };
            };
        };
        OcrResponse: {
            id: string;
            /** @enum {string} */
            object: "ocr";
            /**
             * @description The version that served it.
             * @example ocr@ppocr-v4
             */
            model: string;
            /** @description Every line, top to bottom, joined by newlines. */
            text: string;
            lines: {
                text: string;
                /** @description From 0 to 1. */
                confidence: number;
                /** @description Corners in pixels: top-left, top-right, bottom-right, bottom-left. */
                box: [
                    number,
                    number
                ][];
            }[];
            usage: {
                images: number;
                cost_usd: string;
            };
        };
        OcrRequest: {
            /**
             * @description A model name, `name@version` or `name@alias`.
             * @example ocr
             */
            model: string;
            /**
             * @description A PNG, JPEG or WebP image: base64, a data URL (`data:image/png;base64,...`) or an `https` URL, as a string or in the OpenAI shapes `{"url": ...}` and `{"type": "image_url", "image_url": {"url": ...}}`. A URL is fetched by the gateway: https only, public addresses only (after DNS and on every redirect), within the byte limit and IMAGE_URL_TIMEOUT_MS; the type is read from the bytes. Limits per version (bytes and pixels) are listed by GET /v1/models.
             * @example data:image/png;base64,iVBORw0KGgo...
             */
            image: string | {
                /**
                 * @description An `https` URL of the image, or a data URL (`data:image/png;base64,...`).
                 * @example https://example.com/receipt.png
                 */
                url: string;
                /**
                 * @description Accepted and not used.
                 * @enum {string}
                 */
                detail?: "auto" | "low" | "high";
            } | {
                /** @enum {string} */
                type: "image_url";
                image_url: {
                    /**
                     * @description An `https` URL of the image, or a data URL (`data:image/png;base64,...`).
                     * @example https://example.com/receipt.png
                     */
                    url: string;
                    /**
                     * @description Accepted and not used.
                     * @enum {string}
                     */
                    detail?: "auto" | "low" | "high";
                };
            };
        };
        ModelList: {
            /** @enum {string} */
            object: "list";
            data: (components["schemas"]["Model"] | components["schemas"]["ModelVersion"])[];
        };
        Model: {
            /** @example ocr */
            id: string;
            /** @enum {string} */
            object: "model";
            created: number;
            owned_by: string;
            task: string;
            description: string;
            billing_units: string[];
            default_version: string;
            aliases: {
                [key: string]: string;
            };
            /** @description Your tenant's pin, if any. */
            pinned_version: string | null;
            /** @description The version a request naming only the model gets for your tenant right now. */
            serving_version: string | null;
            versions: components["schemas"]["ModelVersion"][];
        };
        ModelVersion: {
            /** @example ocr@ppocr-v4 */
            id: string;
            /** @enum {string} */
            object: "model";
            /** @description Release time, unix seconds. */
            created: number;
            owned_by: string;
            model: string;
            version: string;
            /**
             * @description Preview versions are callable by `@version` or alias but may change; deprecated ones have a sunset.
             * @enum {string}
             */
            status: "preview" | "active" | "deprecated" | "retired";
            description: string | null;
            released_at: string;
            deprecated_at: string | null;
            sunset_at: string | null;
            /** @description For a retired version: what to call instead. */
            replacement: string | null;
            prices: {
                unit: string;
                /** @example 0.100000000 */
                usd: string;
                /** @description Units the price is for (1000000 tokens, 1 image). */
                per: number;
            }[];
            limits: {
                max_input_tokens: number | null;
                max_image_bytes: number | null;
                max_image_pixels: number | null;
                timeout_ms: number | null;
                /** @description Most texts per request. */
                max_inputs: number | null;
                /** @description Embeddings: the length of the vectors the version answers. */
                dimensions: number | null;
                /** @description Embeddings: the shortest `dimensions` a request may ask for; null when only `dimensions` itself is accepted. */
                min_dimensions: number | null;
            };
            /** @description Chat: the most tokens a prompt and its answer may hold together. Other text models: the most tokens one input may hold. Null for images. */
            context_window: number | null;
            /** @description Chat: the largest `max_tokens` a request may ask for, and the default. */
            max_output_tokens: number | null;
            /** @description Latency of the version's answered requests, as the platform measured it at the gateway (model health). Null until it has answered any. */
            typical_latency_ms: {
                p50: number | null;
                p90: number | null;
                /** @description Answered requests the percentiles are read from. */
                requests: number;
                /** @description Over the last this many UTC days, today included. */
                days: number;
            } | null;
            /** @description The request that calls this version, and an answer in its format, with the usage and cost this version's prices give it (the text is illustrative). */
            sample: {
                /** @enum {string} */
                method: "POST";
                path: string;
                request: {
                    [key: string]: unknown;
                };
                response: {
                    [key: string]: unknown;
                };
            };
            /** @description false when what runs the version is not installed (weights not downloaded, endpoint not deployed): a call answers 503 `model_not_installed` at once, without retrying. */
            available: boolean;
            /** @description Why it is not available. */
            unavailable_reason: string | null;
            /** @description What an operator runs to install it, when there is such a command. */
            install_command: string | null;
        };
        UsageResponse: {
            /** @enum {string} */
            object: "list";
            start_date: string;
            end_date: string;
            data: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                cost_usd: string;
                date: string;
                model: string;
                version: string;
                key_id: string;
                /** @description The key's name now (a rotated key and its successor share it; `key_id` tells them apart); null when the key is not on record. */
                key_name: string | null;
                /**
                 * @description How the usage came in: `online` (a synchronous API call) or `batch` (a line of a batch job, billed at the batch price).
                 * @enum {string}
                 */
                channel: "online" | "batch";
                /** @description The key's project (keys never move, so this holds for every day in the past). */
                project_id: string;
            }[];
            totals: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                cost_usd: string;
            };
            /** @description The totals of online calls and of batch lines apart; they add up to `totals`. */
            totals_by_channel: {
                online: {
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    cost_usd: string;
                };
                batch: {
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    cost_usd: string;
                };
            };
            /** @description The totals per project of the rows shown, in the order of the project list; they add up to `totals`. */
            totals_by_project: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                cost_usd: string;
                project_id: string;
                /** @description Null where project names are not read (`/v1/usage`). */
                project_name: string | null;
            }[];
            freshness: components["schemas"]["UsageFreshness"];
        };
        /** @description How fresh the usage figures in this answer are: they are derived from the usage records off the request path. Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. */
        UsageFreshness: {
            /**
             * @description The aggregates include every request recorded up to this time (ISO 8601, UTC). Usage served after `as_of` may not be in these totals yet; the ledger (what is billed) is never behind. Null when not known (the consumer has not reported yet).
             * @example 2026-11-02T12:03:41.250Z
             */
            as_of: string | null;
            /**
             * @description How far behind the answer `as_of` was when it was served, in milliseconds (typically under a second). Null when not known.
             * @example 850
             */
            lag_ms: number | null;
        };
        Accepted: {
            /** @enum {string} */
            object: "accepted";
            message: string;
        };
        SignupRequest: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
            /** @example correct horse battery staple */
            password: string;
            /**
             * @description Your name.
             * @example Ada Lovelace
             */
            name?: string;
            /**
             * @description Your team or company: the tenant's name.
             * @example Analytical Engines
             */
            company?: string;
        };
        VerifyResponse: {
            /** @enum {string} */
            object: "verification";
            /** @enum {string} */
            status: "verified";
            tenant_id: string;
            user_id: string;
        };
        VerifyRequest: {
            token: string;
        };
        ResendRequest: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
        };
        Session: {
            /** @enum {string} */
            object: "session";
            /** @enum {string} */
            token_type: "Bearer";
            /** @description An ES256 JWT; send as `Authorization: Bearer`. */
            access_token: string;
            /** @description Seconds the access token stays valid. */
            expires_in: number;
            /** @description Single use: POST /auth/refresh trades it for a new pair. */
            refresh_token: string;
            /** @description When the session ends, however often it is refreshed. */
            refresh_expires_at: string;
            session_id: string;
            subject: {
                /** @enum {string} */
                kind: "user";
                user_id: string;
                tenant_id: string;
            } | {
                /** @enum {string} */
                kind: "operator";
                operator_id: string;
            };
        };
        LoginRequest: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
            password: string;
        };
        RefreshRequest: {
            /** @description Omit to use the `tg_refresh` cookie. */
            refresh_token?: string;
        };
        PasswordResetRequest: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
        };
        PasswordResetDone: {
            /** @enum {string} */
            object: "password_reset";
            /** @enum {string} */
            status: "reset";
            sessions_ended: number;
        };
        PasswordResetConfirm: {
            token: string;
            /** @example correct horse battery staple */
            password: string;
        };
        Member: {
            /** @enum {string} */
            object: "member";
            user_id: string;
            email: string;
            name: string | null;
            /**
             * @description A role inside a tenant.
             * @enum {string}
             */
            role: "owner" | "developer" | "billing" | "viewer";
            joined_at: string;
        };
        AcceptInvitationRequest: {
            token: string;
            /** @example correct horse battery staple */
            password: string;
            name?: string;
        };
        Jwks: {
            keys: {
                [key: string]: unknown;
            }[];
        };
        Account: {
            /** @enum {string} */
            object: "account";
            tenant: components["schemas"]["Tenant"];
            user: {
                id: string;
                email: string;
                name: string | null;
                /**
                 * @description A role inside a tenant.
                 * @enum {string}
                 */
                role: "owner" | "developer" | "billing" | "viewer";
            };
            /** @description What your role may do, e.g. `keys:manage`. */
            permissions: string[];
        };
        Tenant: {
            id: string;
            /** @enum {string} */
            object: "tenant";
            name: string;
            /** @enum {string} */
            status: "pending_verification" | "active" | "past_due" | "suspended";
            plan: string;
            contact_email: string | null;
            created_at: string;
        };
        UpdateAccountRequest: {
            /** @description Your own name. */
            name?: string;
            /** @description The tenant's name (owner or billing). */
            company?: string;
            /**
             * Format: email
             * @description Where account notices go (owner or billing).
             * @example ada@example.com
             */
            contact_email?: string;
        };
        ApiKeyWithSecret: components["schemas"]["ApiKey"] & {
            /**
             * @description Shown once: only its hash is stored.
             * @example tg_live_...
             */
            secret: string;
        };
        ApiKey: {
            id: string;
            /** @enum {string} */
            object: "api_key";
            name: string;
            /**
             * @description The first characters of the secret.
             * @example tg_live_a1B2c3
             */
            prefix: string;
            /** @enum {string} */
            status: "active" | "revoked" | "expired";
            scopes: string[];
            limits: {
                requests_per_minute?: number;
                tokens_per_minute?: number;
                /** @description The monthly budget, USD. */
                monthly_spend_cap_usd?: number;
                /**
                 * @description With a budget: `hard_stop` refuses past it, `alert_only` only alerts.
                 * @enum {string}
                 */
                budget_mode?: "hard_stop" | "alert_only";
                /** @description With a budget: its alerts (the defaults filled in), lowest first. */
                budget_alerts?: {
                    /** @description 50, 80 or 100 (percent of the budget). */
                    threshold: number;
                    /** @description `owner`, `creator`, or a team member’s email address. */
                    recipients: string[];
                }[];
            } | null;
            created_at: string;
            created_by: string | null;
            /** @description Recorded at most once a minute per key. */
            last_used_at: string | null;
            expires_at: string | null;
            /** @description The successor of a rotated key. */
            rotated_to: string | null;
            /**
             * @description The project the key belongs to (`proj_default`: the default project).
             * @example proj_default
             */
            project_id: string;
            /** @description What the key is restricted to; null: nothing beyond its tenant’s rights. */
            scope: {
                /** @description Models or `name@version`s; empty: all. */
                models: string[];
                /** @description Empty: all. */
                endpoints: string[];
                read_only: boolean;
                /** @description CIDR ranges; empty: anywhere. */
                ip_allowlist: string[];
            } | null;
        };
        CreateKeyRequest: {
            /** @example production */
            name: string;
            /** @description Empty or absent: everything an API key can do. */
            scopes?: ("models:invoke" | "usage:read")[];
            /**
             * Format: date-time
             * @example 2026-12-31T23:59:59Z
             */
            expires_at?: string;
            /** @description Narrows this key below the tenant’s limits (owners only). A key over its limit gets 429 naming the key. */
            limits?: {
                requests_per_minute?: number;
                tokens_per_minute?: number;
                /** @description This key’s monthly budget in USD, at list prices: a hard stop (`budget_mode`) unless it only alerts. */
                monthly_spend_cap_usd?: number;
                /**
                 * @description `hard_stop` (default): a request that could take the key past its budget is refused (429 `spend_cap_reached`). `alert_only`: never refused; the budget only raises its alerts.
                 * @enum {string}
                 */
                budget_mode?: "hard_stop" | "alert_only";
                /** @description Which thresholds alert, once each per month, and who is emailed for each. Absent: 50, 80 and 100%, each to `owner` and `creator`. Empty: no alerts. */
                budget_alerts?: {
                    /**
                     * @description Percent of the monthly budget: 50, 80 or 100.
                     * @example 80
                     */
                    threshold: number;
                    recipients: string[];
                }[];
            };
            /**
             * @description The project the key belongs to, for good (default `proj_default`). Unknown or another tenant’s: 404.
             * @example proj_default
             */
            project_id?: string;
            scope?: components["schemas"]["KeyScopeInput"];
        };
        KeyScopeInput: {
            /**
             * @description Models (`chat`: any of its versions) or versions (`chat@tiny-1`) the key may call; absent or empty: all. A request naming only the model is served a version in the scope (the first listed) when the tenant’s pin or traffic would pick another; a request naming a version or alias outside it is 403 `model_not_in_key_scope`.
             * @example [
             *       "chat@tiny-1",
             *       "sentiment"
             *     ]
             */
            models?: string[];
            /**
             * @description Endpoints the key may call: `chat` (/v1/chat), `embeddings`, `text` (/v1/text), `images` (/v1/images), `batch` (/v1/files, /v1/batches; a batch’s lines also need their own endpoint). Absent or empty: all.
             * @example [
             *       "chat",
             *       "text"
             *     ]
             */
            endpoints?: ("chat" | "embeddings" | "text" | "images" | "batch")[];
            /** @description Only reads: list models, read usage, files and batches (GET). No inference, no uploads, no batches. */
            read_only?: boolean;
            /**
             * @description CIDR ranges (IPv4 or IPv6; a bare address is its own range) the key may be used from, checked on the address the edge vouches for. A request from elsewhere, or whose address is not known, is 403 `ip_not_in_key_allowlist`. Absent or empty: anywhere.
             * @example [
             *       "203.0.113.0/24",
             *       "2001:db8::/32"
             *     ]
             */
            ip_allowlist?: string[];
        };
        ApiKeyList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["ApiKey"][];
            next_cursor: string | null;
        };
        ApiKeyRotation: {
            /** @enum {string} */
            object: "api_key_rotation";
            key: components["schemas"]["ApiKeyWithSecret"];
            previous: components["schemas"]["ApiKey"];
        };
        RotateKeyRequest: {
            /** @description How long the old secret keeps working. Default 3600; 0 ends it now. */
            grace_period_seconds?: number;
            /**
             * Format: date-time
             * @description Expiry of the new key; default none.
             * @example 2026-12-31T23:59:59Z
             */
            expires_at?: string;
        };
        UpdateKeyRequest: {
            /** @description The key's limits, replacing the ones it had; null removes them. Owners only. */
            limits?: {
                requests_per_minute?: number;
                tokens_per_minute?: number;
                /** @description This key’s monthly budget in USD, at list prices: a hard stop (`budget_mode`) unless it only alerts. */
                monthly_spend_cap_usd?: number;
                /**
                 * @description `hard_stop` (default): a request that could take the key past its budget is refused (429 `spend_cap_reached`). `alert_only`: never refused; the budget only raises its alerts.
                 * @enum {string}
                 */
                budget_mode?: "hard_stop" | "alert_only";
                /** @description Which thresholds alert, once each per month, and who is emailed for each. Absent: 50, 80 and 100%, each to `owner` and `creator`. Empty: no alerts. */
                budget_alerts?: {
                    /**
                     * @description Percent of the monthly budget: 50, 80 or 100.
                     * @example 80
                     */
                    threshold: number;
                    recipients: string[];
                }[];
            } | null;
            /** @description The key's scope, replacing the one it had; null (or an empty scope) removes it. */
            scope?: {
                /**
                 * @description Models (`chat`: any of its versions) or versions (`chat@tiny-1`) the key may call; absent or empty: all. A request naming only the model is served a version in the scope (the first listed) when the tenant’s pin or traffic would pick another; a request naming a version or alias outside it is 403 `model_not_in_key_scope`.
                 * @example [
                 *       "chat@tiny-1",
                 *       "sentiment"
                 *     ]
                 */
                models?: string[];
                /**
                 * @description Endpoints the key may call: `chat` (/v1/chat), `embeddings`, `text` (/v1/text), `images` (/v1/images), `batch` (/v1/files, /v1/batches; a batch’s lines also need their own endpoint). Absent or empty: all.
                 * @example [
                 *       "chat",
                 *       "text"
                 *     ]
                 */
                endpoints?: ("chat" | "embeddings" | "text" | "images" | "batch")[];
                /** @description Only reads: list models, read usage, files and batches (GET). No inference, no uploads, no batches. */
                read_only?: boolean;
                /**
                 * @description CIDR ranges (IPv4 or IPv6; a bare address is its own range) the key may be used from, checked on the address the edge vouches for. A request from elsewhere, or whose address is not known, is 403 `ip_not_in_key_allowlist`. Absent or empty: anywhere.
                 * @example [
                 *       "203.0.113.0/24",
                 *       "2001:db8::/32"
                 *     ]
                 */
                ip_allowlist?: string[];
            } | null;
            /**
             * Format: date-time
             * @description When the key stops working (in the future); null: never. A rotated key's expiry is its grace period and cannot be changed (409).
             * @example 2026-12-31T23:59:59Z
             */
            expires_at?: string | null;
        };
        Team: {
            /** @enum {string} */
            object: "team";
            members: components["schemas"]["Member"][];
            invitations: components["schemas"]["Invitation"][];
        };
        Invitation: {
            id: string;
            /** @enum {string} */
            object: "invitation";
            email: string;
            /**
             * @description A role inside a tenant.
             * @enum {string}
             */
            role: "owner" | "developer" | "billing" | "viewer";
            /** @enum {string} */
            status: "pending" | "expired";
            invited_by: string;
            created_at: string;
            expires_at: string;
        };
        InviteRequest: {
            /**
             * Format: email
             * @example ada@example.com
             */
            email: string;
            /**
             * @description A role inside a tenant.
             * @enum {string}
             */
            role: "owner" | "developer" | "billing" | "viewer";
        };
        RoleChange: {
            /**
             * @description A role inside a tenant.
             * @enum {string}
             */
            role: "owner" | "developer" | "billing" | "viewer";
        };
        ProjectList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Project"][];
        };
        Project: {
            /** @example proj_default */
            id: string;
            /** @enum {string} */
            object: "project";
            name: string;
            /** @description The default project: keys made without a project are in it. */
            default: boolean;
            created_at: string;
            archived_at: string | null;
            limits: components["schemas"]["ProjectLimits"];
            /**
             * @description Your role in this project (see docs/projects.md); null: none (billing members).
             * @enum {string|null}
             */
            your_role: "owner" | "developer" | "viewer" | null;
        };
        ProjectLimits: {
            requests_per_minute?: number;
            tokens_per_minute?: number;
            /**
             * @description Exact USD, nine decimal places.
             * @example 50.000000000
             */
            monthly_budget_usd?: string;
            /** @enum {string} */
            budget_mode?: "hard_stop" | "alert_only";
        } | null;
        CreateProjectRequest: {
            /** @example Search */
            name: string;
            limits?: components["schemas"]["ProjectLimitsInput"];
        };
        /** @description A project's limits, nested inside the tenant's: none may exceed the tenant's own. */
        ProjectLimitsInput: {
            requests_per_minute?: number;
            tokens_per_minute?: number;
            /** @description The project's monthly budget in USD, at most the tenant's spend cap. */
            monthly_budget_usd?: number;
            /**
             * @description `hard_stop` (default): a request that could take the project past its budget is refused. `alert_only`: never refused, only alerts.
             * @enum {string}
             */
            budget_mode?: "hard_stop" | "alert_only";
        };
        UpdateProjectRequest: {
            name?: string;
            /** @description The project's limits, all of them (null: none). Absent: unchanged. */
            limits?: {
                requests_per_minute?: number;
                tokens_per_minute?: number;
                /** @description The project's monthly budget in USD, at most the tenant's spend cap. */
                monthly_budget_usd?: number;
                /**
                 * @description `hard_stop` (default): a request that could take the project past its budget is refused. `alert_only`: never refused, only alerts.
                 * @enum {string}
                 */
                budget_mode?: "hard_stop" | "alert_only";
            } | null;
        };
        ProjectMemberList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["ProjectMember"][];
        };
        ProjectMember: {
            /** @enum {string} */
            object: "project_member";
            project_id: string;
            user_id: string;
            email: string;
            name: string | null;
            /** @description Their role in the tenant. */
            tenant_role: string;
            /**
             * @description The role given in this project, if any.
             * @enum {string|null}
             */
            project_role: "owner" | "developer" | "viewer" | null;
            /**
             * @description What they may do here (see docs/projects.md).
             * @enum {string|null}
             */
            effective_role: "owner" | "developer" | "viewer" | null;
        };
        ProjectRoleChange: {
            /**
             * @description A role inside one project: `owner`, `developer` or `viewer`.
             * @enum {string}
             */
            role: "owner" | "developer" | "viewer";
        };
        Limits: {
            /** @enum {string} */
            object: "limits";
            tenant_id: string;
            plan: components["schemas"]["Plan"];
            overrides: components["schemas"]["LimitOverrides"];
            /** @description The owner's own monthly cap; it can only lower the plan's. */
            owner_spend_cap_usd: string | null;
            /** @description What requests are held to (null: unlimited). Per-key limits narrow these further for one key. */
            effective: {
                /** @enum {string} */
                overage: "hard_stop" | "bill";
                included: {
                    input_tokens: number | null;
                    output_tokens: number | null;
                    images: number | null;
                };
                requests_per_minute: number | null;
                tokens_per_minute: number | null;
                max_concurrent: number | null;
                spend_cap_usd: string | null;
            };
            month: {
                /** @example 2026-11 */
                month: string;
                resets_at: string;
                /** @description This month's use as billed: the month total the usage consumer keeps from the usage records, complete up to `freshness.as_of` (requests served since may not be in it yet). */
                used: {
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    cost_usd: string;
                };
            };
            /** @description This month's alerts, newest first. */
            alerts: components["schemas"]["UsageAlert"][];
            freshness: components["schemas"]["UsageFreshness"];
        };
        Plan: {
            /** @example payg */
            id: string;
            /** @enum {string} */
            object: "plan";
            name: string;
            /**
             * @description `hard_stop`: refused past the included units. `bill`: billed past them, up to the spend cap.
             * @enum {string}
             */
            overage: "hard_stop" | "bill";
            /** @description Units included each month. */
            included: {
                input_tokens?: number;
                output_tokens?: number;
                images?: number;
            };
            requests_per_minute: number | null;
            tokens_per_minute: number | null;
            max_concurrent: number | null;
            /** @example 100.000000000 */
            spend_cap_usd: string | null;
            /**
             * @description The trial credit a newly verified tenant gets; null: no trial.
             * @example 5.000000000
             */
            trial_usd: string | null;
            /** @description How long the trial credit lasts. */
            trial_days: number | null;
            /** @description Whether tenant owners may move to and from this plan themselves. */
            self_serve: boolean;
        };
        /** @description An operator's changes to the plan for this tenant. */
        LimitOverrides: {
            requests_per_minute?: number;
            tokens_per_minute?: number;
            max_concurrent?: number;
            spend_cap_usd?: string;
            included?: {
                input_tokens?: number;
                output_tokens?: number;
                images?: number;
            };
        };
        UsageAlert: {
            /** @enum {string} */
            object: "usage_alert";
            month: string;
            /** @description `spend` (of the spend cap), `included_<unit>` (of the units the plan includes), `key_spend` (of an API key’s monthly budget) or `project_spend` (of a project’s monthly budget). */
            metric: string;
            /** @description 50, 80 or 100 (percent). */
            threshold: number;
            /** @description `usd` for spend, else the billing unit. */
            unit: string;
            /** @description Use when the alert was raised (USD as a decimal string). */
            used: string;
            limit: string;
            at: string;
            /** @description Where the email went: the tenant contact, or for a key budget its recipients (comma-separated). */
            notified: string | null;
            /** @description For a key budget’s alert (`metric` `key_spend`): the key; else null. */
            key: {
                id: string;
                /** @description The key’s name when the alert was raised. */
                name: string;
                /** @enum {string} */
                budget_mode: "hard_stop" | "alert_only";
            } | null;
            /** @description For a project budget’s alert (`metric` `project_spend`): the project; else null. */
            project: {
                id: string;
                /** @description The project’s name when the alert was raised. */
                name: string;
                /** @enum {string} */
                budget_mode: "hard_stop" | "alert_only";
            } | null;
            /** @description Every address the alert was emailed to. */
            recipients: string[];
        };
        UpdateLimitsRequest: {
            /**
             * @description Your monthly spend cap in USD (list prices of everything used this month). It can only lower the plan's cap; null removes yours.
             * @example 25.00
             */
            spend_cap_usd: number | string | null;
        };
        UsageAlertList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["UsageAlert"][];
        };
        Credits: {
            /** @enum {string} */
            object: "credits";
            tenant_id: string;
            /** @enum {string} */
            billing_mode: "prepaid" | "postpaid";
            /** @description Admitted against the balance only and never invoiced; refused at zero. On for new trial accounts. */
            free_only: boolean;
            /** @enum {string} */
            currency: "usd";
            /**
             * @description What every valid grant has left, net of use recorded and not yet in the ledger.
             * @example 5.000000000
             */
            balance_usd: string;
            /**
             * @description What new requests may reserve now: the balance less what requests in flight hold (their worst case). After an expiry it is lower, until the requests in flight at the expiry are in the ledger.
             * @example 5.000000000
             */
            available_usd: string;
            /**
             * @description Use recorded, not yet burned into the ledger.
             * @example 5.000000000
             */
            pending_usd: string;
            by_kind: {
                /** @example 5.000000000 */
                paid: string;
                /** @example 5.000000000 */
                promotional: string;
                /** @example 5.000000000 */
                trial: string;
            };
            burn_order: string;
            grants: components["schemas"]["CreditGrant"][];
            /** @description The ledger, newest first, one page. */
            entries: components["schemas"]["CreditEntry"][];
            next_cursor: string | null;
            top_up: {
                /** @description Whether credit can be bought by card here (Stripe is connected). */
                available: boolean;
                /** @description How to get credit on this platform. */
                how: string;
            };
            /** @description The latest top-ups and recharge attempts, newest first. */
            top_ups: components["schemas"]["TopUp"][];
            auto_recharge: components["schemas"]["AutoRecharge"];
        };
        CreditGrant: {
            /** @example crg_01M885NG1ACXMCH87B3XRQVEKV */
            id: string;
            /** @enum {string} */
            kind: "paid" | "promotional" | "trial";
            /** @example 5.000000000 */
            amount_usd: string;
            /** @example 5.000000000 */
            burned_usd: string;
            /**
             * @description What left the balance at expiry (provisional while `expiring`, exact once `expired`).
             * @example 5.000000000
             */
            expired_usd: string;
            /**
             * @description What is left of it, net of use not yet in the ledger.
             * @example 5.000000000
             */
            left_usd: string;
            /** @enum {string} */
            status: "active" | "expiring" | "expired";
            created_at: string;
            expires_at: string;
            note: string | null;
            granted_by: string;
            /** @description Credit bought through Stripe: the payment. Null for credit an operator granted. */
            purchase: {
                /** @enum {string} */
                purpose: "top_up" | "auto_recharge";
                /** @description Stripe's PaymentIntent. */
                payment_id: string;
                /** @example 25.00 */
                amount_paid_usd: string;
                card: {
                    brand: string;
                    last4: string;
                } | null;
                paid_at: string;
            } | null;
            /** @description Paid grants: Stripe's receipt of the charge when bought through Stripe, else this platform's HTML receipt (`/account/credits/grants/{id}/receipt`, behind the session). Null for promotional and trial credit. */
            receipt_url: string | null;
        };
        CreditEntry: {
            id: string;
            /** @enum {string} */
            type: "grant" | "burn" | "expiry" | "expiry_adjustment";
            at: string;
            /**
             * @description Signed: + adds to the balance, - takes from it.
             * @example 5.000000000
             */
            amount_usd: string;
            grant_id: string | null;
            /** @enum {string|null} */
            kind: "paid" | "promotional" | "trial" | null;
            /** @description Burns: how many requests. */
            requests: number | null;
            /** @description Burns: the requests started from... */
            from: string | null;
            /** @description ...until (exclusive). */
            to: string | null;
            note: string | null;
        };
        TopUp: {
            id: string;
            /** @enum {string} */
            purpose: "top_up" | "auto_recharge";
            /** @example 25.00 */
            amount_usd: string;
            /**
             * @description `pending` until Stripe confirms the payment (a Checkout left unpaid stays pending).
             * @enum {string}
             */
            status: "pending" | "paid" | "failed";
            created_at: string;
            paid_at: string | null;
            failure_reason: string | null;
            grant_id: string | null;
        };
        AutoRecharge: {
            enabled: boolean;
            /**
             * @description Recharge when the balance is below this.
             * @example 5.00
             */
            threshold_usd: string;
            /**
             * @description What each recharge buys.
             * @example 20.00
             */
            amount_usd: string;
            /** @description At most this many recharges per UTC day. */
            max_per_day: number;
            /** @description The card recharges charge: saved by a top-up with `save_card`. */
            card: {
                brand: string;
                last4: string;
                saved_at: string;
            } | null;
            recharges_today: number;
            /** @description A recharge is under way. */
            charging: boolean;
            last_attempt: {
                /** @enum {string} */
                status: "succeeded" | "failed";
                amount_usd: string;
                at: string;
                /** @description Why it failed, as the card issuer said. */
                reason: string | null;
                payment_id: string | null;
            } | null;
            /**
             * @description `recharge_failed`: switched off after a declined recharge, until you turn it on again.
             * @enum {string|null}
             */
            disabled_reason: "recharge_failed" | null;
        };
        CreditSettings: {
            /** @enum {string} */
            object: "credit_settings";
            /** @enum {string} */
            billing_mode: "prepaid" | "postpaid";
            /** @description On: admitted against the credit balance only, never invoiced; at zero refused (429 insufficient_balance, `x-should-retry: false`). On for new trial accounts. */
            free_only: boolean;
            /** @example 5.000000000 */
            balance_usd: string;
            /** @description The trial credit granted when the email was verified; null: none. */
            trial: {
                /** @example 5.000000000 */
                amount_usd: string;
                /** @example 5.000000000 */
                left_usd: string;
                expires_at: string;
                /** @enum {string} */
                status: "active" | "expiring" | "expired";
            } | null;
            /** @description Free-only: when the credit was found used up (calls are refused; the owner was emailed once). Cleared by new credit. */
            exhausted_at: string | null;
            /** @description Thresholds, highest first. */
            low_balance_alerts_usd: string[];
            /** @description Crossings below a threshold, newest first (the last 20). */
            low_balance_notices: {
                /** @example 5.000000000 */
                threshold_usd: string;
                /**
                 * @description The balance when the crossing was found.
                 * @example 5.000000000
                 */
                balance_usd: string;
                at: string;
                /** @description Where the email went. */
                notified: string | null;
            }[];
        };
        CreditSettingsPatch: {
            /** @description false: paid use. The account stays prepaid if it holds paid credit, else becomes postpaid (billed as its plan says). true: admitted against the balance only, never invoiced. */
            free_only?: boolean;
            /** @description Up to 5 USD amounts; [] removes them. Each crossing below one emails the owner once. */
            low_balance_alerts_usd?: (number | string)[];
        };
        AutoRechargeRequest: {
            enabled: boolean;
            /**
             * @description US dollars, at most 2 decimal places, above 0 and at most 5000.00.
             * @example 5.00
             */
            threshold_usd?: number | string;
            /**
             * @description US dollars with at most 2 decimal places, from 5.00 to 5000.00 (a string, or a number).
             * @example 25.00
             */
            amount_usd?: number | string;
            /** @description At most this many recharges per UTC day (1 to 10). */
            max_per_day?: number;
        };
        ModelPin: {
            /** @enum {string} */
            object: "model.pin";
            /** @example ocr */
            model: string;
            /**
             * @description A version id or an alias.
             * @example tesseract-5
             */
            version: string;
            /**
             * @description The version requests get; null when the pinned version no longer exists.
             * @example ocr@tesseract-5
             */
            resolves_to: string | null;
            /** @description That version's status (a retired one refuses calls). */
            status: string | null;
            updated_at: string;
        };
        ModelPinRequest: {
            /**
             * @description A version id or an alias (an alias pin follows the alias when operators move it).
             * @example tesseract-5
             */
            version: string;
        };
        RequestList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Request"][];
            first_id: string | null;
            last_id: string | null;
            has_more: boolean;
        };
        Request: {
            /** @enum {string} */
            object: "request";
            /** @description The request id (`x-request-id`). */
            id: string;
            /** @description When the request came in (ISO 8601, from its id). */
            created_at: string;
            /** @description When it was answered (a stream: its last byte). */
            answered_at: string;
            /**
             * @description `succeeded`: answered and billed. `open`: a stream still being served. `void`: the model failed after the request was admitted: not billed.
             * @enum {string}
             */
            status: "succeeded" | "open" | "void";
            model: string;
            /** @description The model version that served it. */
            version: string;
            /** @enum {string} */
            channel: "online" | "batch";
            usage: {
                input_tokens: number;
                output_tokens: number;
                images: number;
            };
            /** @description What it cost (exact, USD); null to roles that may not see billing (`billing:read`). */
            cost_usd: string | null;
            latency_ms: number;
            key_id: string;
            /** @description The key's name now; null when it is not on record. */
            key_name: string | null;
            /** @description The key's project (`proj_default` for the default project). */
            project_id: string;
        };
        RefusalCountList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["RefusalCount"][];
            next_cursor: string | null;
            /** @description Where the detail of each refused call is: the logs. */
            note: string;
        };
        RefusalCount: {
            /** @description The UTC minute, `YYYY-MM-DDTHH:MM`. */
            minute: string;
            key_id: string;
            key_name: string | null;
            project_id: string;
            /** @description The error code the calls were answered with. */
            reason: string;
            /** @description The HTTP status answered with it. */
            status: number;
            count: number;
        };
        AccountAuditList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["AccountAuditEntry"][];
            next_cursor: string | null;
        };
        AccountAuditEntry: {
            id: string;
            /** @enum {string} */
            object: "audit_entry";
            at: string;
            actor: {
                /** @enum {string} */
                kind: "user" | "operator" | "system";
                /** @description A member’s user id; absent for Tollgate’s operators. */
                id?: string;
                email?: string;
            };
            /** @example api_key.revoke */
            action: string;
            target: {
                /** @enum {string} */
                type: "tenant" | "operator" | "api_key" | "model" | "plan" | "project" | "member";
                id: string;
                tenant_id?: string;
                /** @description What the target was called when the entry was written (a key’s name, a member’s email, a project’s name); for older entries, its name now when it still exists; else null. */
                name: string | null;
            };
            before: {
                [key: string]: unknown;
            } | null;
            after: {
                [key: string]: unknown;
            } | null;
            request_id: string | null;
        };
        TenantList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Tenant"][];
            next_cursor: string | null;
        };
        TenantDetail: {
            /** @enum {string} */
            object: "tenant_detail";
            tenant: components["schemas"]["Tenant"];
            members: components["schemas"]["Member"][];
            keys: components["schemas"]["ApiKey"][];
            invitations: components["schemas"]["Invitation"][];
            /** @description Its projects, the default one first (`your_role` is null: operators have none). */
            projects: components["schemas"]["Project"][];
        };
        StatusChangeRequest: {
            reason?: string;
        };
        TenantUpdate: {
            /** @description The id of a plan (`GET /admin/plans`). */
            plan: string;
        };
        AuditList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["AuditEntry"][];
            next_cursor: string | null;
        };
        AuditEntry: {
            id: string;
            /** @enum {string} */
            object: "audit_entry";
            at: string;
            actor: {
                /** @enum {string} */
                kind: "user" | "operator" | "system";
                id: string;
                email?: string;
            };
            /** @example tenant.suspend */
            action: string;
            target: {
                /** @enum {string} */
                type: "tenant" | "operator" | "api_key" | "model" | "plan" | "project" | "member";
                id: string;
                tenant_id?: string;
                /** @description What the target was called when the entry was written (a key’s name, a member’s email, a project’s name); for older entries, its name now when it still exists; else null. */
                name: string | null;
                /** @description The tenant’s name now. */
                tenant_name?: string | null;
            };
            before: {
                [key: string]: unknown;
            } | null;
            after: {
                [key: string]: unknown;
            } | null;
            request_id: string | null;
        };
        LimitsPatch: {
            requests_per_minute?: number | null;
            tokens_per_minute?: number | null;
            max_concurrent?: number | null;
            /**
             * @description USD, as a number or a decimal string (up to 9 places).
             * @example 25.00
             */
            spend_cap_usd?: number | string | null;
            /** @description Units included each month, per unit; null removes a unit. */
            included?: {
                input_tokens?: number | null;
                output_tokens?: number | null;
                images?: number | null;
            };
        };
        CreditGrantRequest: {
            /**
             * @description USD, as a number or a decimal string (up to 9 places).
             * @example 25.00
             */
            amount_usd: number | string;
            /** @enum {string} */
            kind: "paid" | "promotional" | "trial";
            /**
             * Format: date-time
             * @description In the future.
             * @example 2027-12-31T23:59:59Z
             */
            expires_at: string;
            note?: string;
            /** @example usd */
            currency?: string;
        };
        BillingModeRequest: {
            /** @enum {string} */
            billing_mode?: "prepaid" | "postpaid";
            /** @description true: admitted against the balance only, never invoiced (prepaid). false: paid use (stays prepaid with paid credit, else postpaid). `postpaid` turns free-only off too. */
            free_only?: boolean;
        };
        PlanList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Plan"][];
        };
        CreatePlanRequest: {
            /** @example team-2026 */
            id: string;
            name: string;
            /**
             * @description `hard_stop` refuses past the included units (free); `bill` bills past them up to the spend cap.
             * @enum {string}
             */
            overage: "hard_stop" | "bill";
            /** @description Whether tenant owners may move to and from this plan themselves (`POST /account/billing/plan`); default false. */
            self_serve?: boolean;
            requests_per_minute?: number | null;
            tokens_per_minute?: number | null;
            max_concurrent?: number | null;
            /**
             * @description USD, as a number or a decimal string (up to 9 places).
             * @example 25.00
             */
            spend_cap_usd?: number | string | null;
            /** @description Units included each month, per unit; null removes a unit. */
            included?: {
                input_tokens?: number | null;
                output_tokens?: number | null;
                images?: number | null;
            };
            /**
             * @description Trial credit a newly verified tenant on this plan gets (one `trial` grant); 0 or null: no trial. Needs `trial_days`.
             * @example 5.00
             */
            trial_usd?: number | string | null;
            /** @description How many days the trial credit lasts; 0 or null: no trial. */
            trial_days?: number | null;
        };
        UpdatePlanRequest: {
            name?: string;
            /**
             * @description `hard_stop` refuses past the included units (free); `bill` bills past them up to the spend cap.
             * @enum {string}
             */
            overage?: "hard_stop" | "bill";
            /** @description Whether tenant owners may move to and from this plan themselves (`POST /account/billing/plan`); default false. */
            self_serve?: boolean;
            requests_per_minute?: number | null;
            tokens_per_minute?: number | null;
            max_concurrent?: number | null;
            /**
             * @description USD, as a number or a decimal string (up to 9 places).
             * @example 25.00
             */
            spend_cap_usd?: number | string | null;
            /** @description Units included each month, per unit; null removes a unit. */
            included?: {
                input_tokens?: number | null;
                output_tokens?: number | null;
                images?: number | null;
            };
            /**
             * @description Trial credit a newly verified tenant on this plan gets (one `trial` grant); 0 or null: no trial. Needs `trial_days`.
             * @example 5.00
             */
            trial_usd?: number | string | null;
            /** @description How many days the trial credit lasts; 0 or null: no trial. */
            trial_days?: number | null;
        };
        PlatformUsage: {
            /** @enum {string} */
            object: "platform_usage";
            start_date: string;
            end_date: string;
            by_day: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                /** @description At list prices, before included units. */
                cost_usd: string;
                date: string;
                model: string;
                version: string;
                /**
                 * @description How the usage came in: `online` (a synchronous API call) or `batch` (a line of a batch job, billed at the batch price).
                 * @enum {string}
                 */
                channel: "online" | "batch";
            }[];
            by_model: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                /** @description At list prices, before included units. */
                cost_usd: string;
                model: string;
                version: string;
                /**
                 * @description How the usage came in: `online` (a synchronous API call) or `batch` (a line of a batch job, billed at the batch price).
                 * @enum {string}
                 */
                channel: "online" | "batch";
            }[];
            totals: {
                requests: number;
                input_tokens: number;
                output_tokens: number;
                images: number;
                /** @description At list prices, before included units. */
                cost_usd: string;
                /** @description Usage at list prices, every tenant, the whole range. */
                revenue_usd: string;
            };
            /** @description The totals of online calls and of batch lines (at the batch price) apart; they add up to `totals`. */
            totals_by_channel: {
                online: {
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    /** @description At list prices, before included units. */
                    cost_usd: string;
                };
                batch: {
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    /** @description At list prices, before included units. */
                    cost_usd: string;
                };
            };
            top_tenants: {
                /** @description Tenants are ranked by whole calendar months, by all their usage (online and batch together). */
                months: string[];
                data: {
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    /** @description At list prices, before included units. */
                    cost_usd: string;
                    tenant_id: string;
                    name: string | null;
                    plan: string | null;
                }[];
            };
            freshness: components["schemas"]["UsageFreshness"];
        };
        AdminModel: {
            name: string;
            task: string;
            description: string;
            units: string[];
            status: string;
            default_version: string;
            aliases: {
                [key: string]: string;
            };
            traffic: {
                [key: string]: number;
            };
            revision: number;
            versions: {
                version: string;
                status: string;
                released_at: string;
                deprecated_at: string | null;
                sunset_at: string | null;
                replacement: string | null;
                prices_nano_usd: {
                    [key: string]: number;
                };
                /** @description What a batch line costs per unit: the operator's batch prices, else half the online ones. */
                batch_prices_nano_usd: {
                    [key: string]: number;
                };
                /** @description Whether the batch prices are the default (half the online ones). */
                batch_prices_default: boolean;
                price_book: string;
                endpoint_name: string;
                variant: string;
            }[];
        };
        ModelHealth: {
            /** @enum {string} */
            object: "list";
            start_date: string;
            end_date: string;
            data: {
                /** @description `name@version`; `none` for refusals and failures before a version was resolved. */
                model_version: string;
                /** @description Answered: the four outcomes below, summed. */
                requests: number;
                /** @description 2xx. */
                succeeded: number;
                /** @description 429 (limits, quota, spend cap) and 403 (account state). */
                refused: number;
                /** @description 5xx: the model or the platform failed. */
                failed: number;
                /** @description Other 4xx: bad input; neither refused nor failed. */
                client_errors: number;
                /** @description refused / requests (a fraction). */
                refusal_rate: number;
                /** @description failed / requests (a fraction). */
                error_rate: number;
                /** @description Succeeded requests, to the last byte of a stream; nearest-rank, read from a histogram with buckets 10% wide: within 4.9% (0.5 ms below 1 ms) of the exact value. */
                latency_ms: {
                    /** @description null when no request succeeded. */
                    p50: number | null;
                    /** @description null when no request succeeded. */
                    p90: number | null;
                    /** @description null when no request succeeded. */
                    p99: number | null;
                };
                refusals_by_code: {
                    [key: string]: number;
                };
                errors_by_code: {
                    [key: string]: number;
                };
                /** @description Set when the version is failing: at least 3 failures and at least half of its answers were 5xx (for example every call answering `model_not_installed`). The console shows these first. */
                alert: string | null;
            }[];
        };
        AdminCreateModel: {
            /** @example image-captions */
            name: string;
            /** @enum {string} */
            task: "text-sentiment" | "chat" | "image-moderation" | "ocr" | "embeddings";
            description: string;
            units: ("input_tokens" | "output_tokens" | "images")[];
            /**
             * @description Aliases that point at the first version.
             * @default [
             *       "latest",
             *       "stable"
             *     ]
             */
            aliases: string[];
            /** @description The first version; it becomes the default. */
            version: {
                version: string;
                /**
                 * @default preview
                 * @enum {string}
                 */
                status: "preview" | "active";
                description?: string;
                endpoint_name: string;
                variant: string;
                /**
                 * @description nano-USD (1e-9 USD) per unit.
                 * @example {
                 *       "images": 500000
                 *     }
                 */
                prices_nano_usd: {
                    input_tokens?: number;
                    output_tokens?: number;
                    images?: number;
                };
                /** @default {} */
                limits: {
                    max_input_tokens?: number;
                    max_inputs?: number;
                    max_image_bytes?: number;
                    max_image_pixels?: number;
                    timeout_ms?: number;
                };
                /** Format: date-time */
                released_at?: string;
            };
        };
        AdminVersion: {
            version: string;
            /**
             * @default preview
             * @enum {string}
             */
            status: "preview" | "active";
            description?: string;
            endpoint_name: string;
            variant: string;
            /**
             * @description nano-USD (1e-9 USD) per unit.
             * @example {
             *       "images": 500000
             *     }
             */
            prices_nano_usd: {
                input_tokens?: number;
                output_tokens?: number;
                images?: number;
            };
            /** @default {} */
            limits: {
                max_input_tokens?: number;
                max_inputs?: number;
                max_image_bytes?: number;
                max_image_pixels?: number;
                timeout_ms?: number;
            };
            /** Format: date-time */
            released_at?: string;
        };
        AdminTraffic: {
            /**
             * @description Relative weights for requests that name no version and have no pin; sticky per tenant. `{}` sends them all to the default.
             * @example {
             *       "mobilenet-v2": 90,
             *       "inception-v3": 10
             *     }
             */
            weights: {
                [key: string]: number;
            };
        };
        AdminPromote: {
            /**
             * @description Make it the default (a preview becomes active).
             * @default false
             */
            default: boolean;
            /**
             * @default []
             * @example [
             *       "stable"
             *     ]
             */
            aliases: string[];
        };
        AdminDeprecate: {
            /**
             * Format: date-time
             * @description When the version stops answering; sent to callers in the `Sunset` header.
             * @example 2026-12-31T00:00:00Z
             */
            sunset_at: string;
        };
        AdminRetire: {
            /**
             * @description The version callers are told to use; aliases of the retired version move to it.
             * @example mobilenet-v2
             */
            replacement: string;
        };
        AdminPrices: {
            /**
             * @description nano-USD (1e-9 USD) per unit.
             * @example {
             *       "images": 500000
             *     }
             */
            prices_nano_usd: {
                input_tokens?: number;
                output_tokens?: number;
                images?: number;
            };
            /**
             * @description nano-USD per unit for batch lines, each at most the online price of its unit. Absent or null: half the online prices (rounded down), the default.
             * @example {
             *       "input_tokens": 40
             *     }
             */
            batch_prices_nano_usd?: {
                input_tokens?: number;
                output_tokens?: number;
                images?: number;
            } | null;
        };
        Pricing: {
            /** @enum {string} */
            object: "pricing";
            /** @enum {string} */
            currency: "usd";
            plans: components["schemas"]["Plan"][];
            models: components["schemas"]["PublicModel"][];
        };
        PublicModel: {
            /** @example sentiment */
            id: string;
            task: string;
            description: string;
            billing_units: string[];
            default_version: string;
            versions: components["schemas"]["ModelVersion"][];
        };
        Billing: {
            /** @enum {string} */
            object: "billing";
            /** @description Whether payments go through Stripe on this platform. */
            connected: boolean;
            /** @description What to know, e.g. that billing is not connected. */
            message: string | null;
            plan: {
                id: string;
                name: string;
                bills_overage: boolean;
                included: components["schemas"]["Units"];
            };
            /**
             * @description Billing standing: `none` until a subscription starts.
             * @enum {string}
             */
            status: "none" | "active" | "past_due" | "suspended" | "canceled";
            tenant_status: string;
            past_due_since: string | null;
            /** @description When a past-due account is suspended. */
            grace_ends_at: string | null;
            period: {
                month: string;
                start: string;
                end: string;
            };
            running_cost: {
                /**
                 * @description US dollars, nine decimal places.
                 * @example 12.345000000
                 */
                total_usd: string;
                by_version: {
                    model: string;
                    version: string;
                    /**
                     * @description How the usage came in: `online` (a synchronous API call) or `batch` (a line of a batch job, billed at the batch price).
                     * @enum {string}
                     */
                    channel: "online" | "batch";
                    requests: number;
                    input_tokens: number;
                    output_tokens: number;
                    images: number;
                    /**
                     * @description US dollars, nine decimal places.
                     * @example 12.345000000
                     */
                    cost_usd: string;
                }[];
            };
            /** @description What the ledger says this month will be billed. */
            invoice_preview: {
                /** @enum {string} */
                currency: "usd";
                lines: {
                    /** @example Chat tiny-1 — output tokens */
                    description: string;
                    model: string;
                    version: string;
                    unit: string;
                    /**
                     * @description A batch line is a line of its own (its description ends in "(batch)"), at the batch price.
                     * @enum {string}
                     */
                    channel: "online" | "batch";
                    used: number;
                    included: number;
                    billable: number;
                    /**
                     * @description US dollars, nine decimal places.
                     * @example 12.345000000
                     */
                    unit_price_usd: string;
                    /**
                     * @description US dollars, nine decimal places.
                     * @example 12.345000000
                     */
                    amount_usd: string;
                    /**
                     * @description US dollars, as invoiced (to the cent).
                     * @example 12.35
                     */
                    amount_due_usd: string;
                }[];
                /**
                 * @description US dollars, nine decimal places.
                 * @example 12.345000000
                 */
                subtotal_usd: string;
                /**
                 * @description US dollars, as invoiced (to the cent).
                 * @example 12.35
                 */
                total_due_usd: string;
                note: string;
            };
            /** @description Past invoices from Stripe; null when billing is not connected or Stripe did not answer. */
            invoices: {
                id: string;
                number: string | null;
                status: string | null;
                currency: string;
                /**
                 * @description US dollars, as invoiced (to the cent).
                 * @example 12.35
                 */
                total: string;
                /**
                 * @description US dollars, as invoiced (to the cent).
                 * @example 12.35
                 */
                amount_due: string;
                period_start: string;
                period_end: string;
                created_at: string;
                hosted_invoice_url: string | null;
                invoice_pdf: string | null;
            }[] | null;
            /** @description The ledger's monthly statements (HTML, behind the session), newest first: the months since the account was made, at most 12. Without Stripe they are the documents to keep. */
            statements: {
                month: string;
                url: string;
            }[];
        };
        /** @description Units included each calendar month (UTC). */
        Units: {
            input_tokens?: number;
            output_tokens?: number;
            images?: number;
        };
        BillingSessionUrl: {
            /** @enum {string} */
            object: "checkout_session" | "portal_session";
            id?: string;
            /** @description Send the browser here. */
            url: string;
        };
        PlanOptions: {
            /** @enum {string} */
            object: "list";
            current_plan: string;
            /** @description Whether paid plans go through Stripe here. */
            connected: boolean;
            /** @description The live Stripe subscription, if any. */
            subscription: {
                plan: string | null;
                ends_at_period_end: boolean;
            } | null;
            data: components["schemas"]["PlanOption"][];
        };
        PlanOption: components["schemas"]["Plan"] & {
            current: boolean;
            /** @example No monthly fee. Past the included units, usage is billed per model version at the catalog's prices, up to the spend cap. */
            price_basis: string;
        };
        PlanChange: {
            /** @enum {string} */
            object: "plan_change";
            /**
             * @description `applied`: the account is on `plan` now, its limits apply from the next request. `checkout_required`: send the browser to `url`; the plan applies when the payment completes.
             * @enum {string}
             */
            status: "applied" | "checkout_required";
            /** @description The plan asked for. */
            plan: string;
            previous_plan: string;
            /** @description A move to Free with a Stripe subscription: the subscription ends at the month's end, invoicing the usage billed before the move. */
            subscription_ends_at_period_end: boolean;
            /** @description The Stripe Checkout page, when one is needed. */
            url: string | null;
            message: string;
        };
        ChangePlanRequest: {
            /** @example payg */
            plan: string;
        };
        TopUpSession: {
            /** @enum {string} */
            object: "checkout_session";
            /** @example cs_test_a1b2c3 */
            id: string;
            /** @description Stripe's hosted Checkout page: send the browser there. */
            url: string;
            /** @example tup_01M885NG1ACXMCH87B3XRQVEKV */
            top_up_id: string;
        };
        TopUpRequest: {
            /**
             * @description US dollars with at most 2 decimal places, from 5.00 to 5000.00 (a string, or a number).
             * @example 25.00
             */
            amount_usd: number | string;
            /** @example usd */
            currency?: string;
            /** @description Keep the card for auto-recharge (it becomes the card auto-recharge charges). Default false. */
            save_card?: boolean;
        };
        WebhookReceived: {
            /** @enum {boolean} */
            received: true;
            duplicate: boolean;
            /** @description What the event did (`past_due`, `stale`, ...). */
            outcome: string | null;
        };
        Finance: {
            /** @enum {string} */
            object: "finance";
            from: string;
            to: string;
            /** @enum {string} */
            currency: "usd";
            /**
             * @description `ledger`: no provider is connected; receivables stand for the invoice previews.
             * @enum {string}
             */
            billing: "stripe" | "ledger";
            receivables: {
                /** @enum {string} */
                source: "stripe_invoices" | "invoice_previews";
                label: string;
                /**
                 * @description Invoices created in the range (not draft or void), their totals.
                 * @example 12.340000000
                 */
                invoiced_usd: string;
                /**
                 * @description What those invoices have been paid.
                 * @example 12.340000000
                 */
                collected_usd: string;
                /**
                 * @description What the open ones still owe.
                 * @example 12.340000000
                 */
                outstanding_usd: string;
                /**
                 * @description What invoices marked uncollectible still owe.
                 * @example 12.340000000
                 */
                uncollectible_usd: string;
                count: number;
                /** @description More than the report reads (2,000 invoices, or 200 previews). */
                truncated: boolean;
            };
            credit: {
                /** @description Granted in the range: paid is sold, promotional and trial given. */
                sold_usd: {
                    /** @example 12.340000000 */
                    paid: string;
                    /** @example 12.340000000 */
                    promotional: string;
                    /** @example 12.340000000 */
                    trial: string;
                    /** @example 12.340000000 */
                    total: string;
                };
                used_usd: {
                    /** @example 12.340000000 */
                    paid: string;
                    /** @example 12.340000000 */
                    promotional: string;
                    /** @example 12.340000000 */
                    trial: string;
                    /** @example 12.340000000 */
                    total: string;
                    /**
                     * @description Use no grant paid for (a request that outlived its hold).
                     * @example 12.340000000
                     */
                    uncovered: string;
                };
                /** @description Left the balances unused at expiry, net of adjustments. */
                expired_usd: {
                    /** @example 12.340000000 */
                    paid: string;
                    /** @example 12.340000000 */
                    promotional: string;
                    /** @example 12.340000000 */
                    trial: string;
                    /** @example 12.340000000 */
                    total: string;
                };
                /** @description At the end of the range: credit granted and neither used nor expired (a liability for paid credit). */
                outstanding_usd: {
                    /** @example 12.340000000 */
                    paid: string;
                    /** @example 12.340000000 */
                    promotional: string;
                    /** @example 12.340000000 */
                    trial: string;
                    /** @example 12.340000000 */
                    total: string;
                };
            };
            mrr: {
                month: string;
                /** @example 12.340000000 */
                mrr_usd: string;
                /** @example 12.340000000 */
                subscriptions_usd: string;
                /** @example 12.340000000 */
                paid_credit_usd: string;
                definition: string;
            };
            past_due: {
                tenant_id: string;
                name: string | null;
                past_due_since: string;
                days_overdue: number;
                grace_ends_at: string;
                /**
                 * @description Open invoices of the range (Stripe); null in ledger-only mode.
                 * @example 12.340000000
                 */
                owed_usd: string | null;
            }[];
            refunds: {
                count: number;
                /** @example 12.340000000 */
                amount_usd: string;
                truncated: boolean;
                data: {
                    id: string;
                    /** @example 12.340000000 */
                    amount_usd: string;
                    status: string | null;
                    payment_intent: string | null;
                    created_at: string;
                }[];
            };
            credit_notes: {
                count: number;
                /** @example 12.340000000 */
                amount_usd: string;
                truncated: boolean;
                data: {
                    id: string;
                    invoice: string;
                    /** @example 12.340000000 */
                    amount_usd: string;
                    status: string;
                    created_at: string;
                }[];
            };
            /** @description Stripe did not answer part of the report: those parts read zero. */
            provider_unavailable: string | null;
        };
        IssuedRefundOrCreditNote: {
            /** @enum {string} */
            object: "refund" | "credit_note";
            /** @description Stripe's id (`re_...`, `cn_...`). */
            id: string;
            tenant_id: string;
            /** @description The payment or invoice. */
            against: string;
            amount_usd: string;
            /** @enum {string} */
            currency: "usd";
            created_at: string;
            /** @description An earlier identical request issued it; nothing new was issued. */
            replayed: boolean;
        };
        RefundRequest: {
            /** @description A top-up's payment, or the payment of an invoice. */
            payment_intent: string;
            /**
             * @description Above 0, whole cents, at most what is left to refund.
             * @example 25.00
             */
            amount_usd: number | string;
            /** @example usd */
            currency?: string;
            /** @enum {string} */
            reason?: "duplicate" | "fraudulent" | "requested_by_customer";
        };
        CreditNoteRequest: {
            invoice: string;
            /**
             * @description Above 0, whole cents, at most what the invoice can still be credited.
             * @example 25.00
             */
            amount_usd: number | string;
            /** @example usd */
            currency?: string;
            memo?: string;
        };
        FileObject: {
            /** @example file-01M97D1FGJZ4P1NNSPAFZTHVAW */
            id: string;
            /** @enum {string} */
            object: "file";
            bytes: number;
            /** @description Unix seconds. */
            created_at: number;
            filename: string;
            /** @enum {string} */
            purpose: "batch" | "batch_output";
            /** @enum {string} */
            status: "processed";
            expires_at: null;
            status_details: null;
        };
        FileUpload: {
            /**
             * @description Only 'batch'.
             * @example batch
             */
            purpose: string;
            /**
             * Format: binary
             * @description JSONL: one request per line.
             */
            file: string;
        };
        FileList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["FileObject"][];
            first_id: string | null;
            last_id: string | null;
            has_more: boolean;
        };
        FileDeleted: {
            id: string;
            /** @enum {string} */
            object: "file";
            /** @enum {boolean} */
            deleted: true;
        };
        Batch: {
            /** @example batch_01M97D1FGJZ4P1NNSPAFZTHVAW */
            id: string;
            /** @enum {string} */
            object: "batch";
            /** @enum {string} */
            endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/text/sentiment" | "/v1/images/moderations" | "/v1/images/ocr";
            /** @description Why the remaining lines were not run (a spend cap, the balance, the month's quota). */
            errors: {
                /** @enum {string} */
                object: "list";
                data: {
                    code: string;
                    message: string;
                    param: string | null;
                    line: number | null;
                }[];
            } | null;
            input_file_id: string;
            /** @enum {string} */
            completion_window: "24h";
            /** @enum {string} */
            status: "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";
            output_file_id: string | null;
            error_file_id: string | null;
            created_at: number;
            /** @description Unix seconds. */
            in_progress_at: number | null;
            expires_at: number;
            /** @description Unix seconds. */
            finalizing_at: number | null;
            /** @description Unix seconds. */
            completed_at: number | null;
            /** @description Unix seconds. */
            failed_at: number | null;
            /** @description Unix seconds. */
            expired_at: number | null;
            /** @description Unix seconds. */
            cancelling_at: number | null;
            /** @description Unix seconds. */
            cancelled_at: number | null;
            request_counts: {
                total: number;
                completed: number;
                failed: number;
            };
            metadata: {
                [key: string]: string;
            } | null;
        };
        CreateBatchRequest: {
            /** @example file-01M97D1FGJZ4P1NNSPAFZTHVAW */
            input_file_id: string;
            /** @enum {string} */
            endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/text/sentiment" | "/v1/images/moderations" | "/v1/images/ocr";
            /** @enum {string} */
            completion_window: "24h";
            metadata?: {
                [key: string]: string;
            } | null;
            /** @description Accepted and not applied. */
            output_expires_after?: unknown;
        };
        BatchList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Batch"][];
            first_id: string | null;
            last_id: string | null;
            has_more: boolean;
        };
        AccountBatch: components["schemas"]["Batch"] & {
            /** @description The API key its lines are billed to. */
            key_id: string;
            /** @description The models its lines name, as written in them. */
            models: string[];
        };
        AccountBatchUpload: {
            /**
             * Format: binary
             * @description JSONL: one request per line.
             */
            file: string;
            /** @enum {string} */
            endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/text/sentiment" | "/v1/images/moderations" | "/v1/images/ocr";
            /** @description One of the tenant's active API keys: the lines are billed to it. */
            key_id: string;
            /** @description A JSON object of up to 16 string pairs, as OpenAI’s `metadata`. */
            metadata?: string;
        };
        AccountBatchList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["AccountBatch"][];
            first_id: string | null;
            last_id: string | null;
            has_more: boolean;
        };
        AdminBatchBacklog: {
            /** @enum {string} */
            object: "batch_backlog";
            /** @description Unix seconds: when these figures were read. */
            at: number;
            /** @description Every batch not yet final, oldest first. */
            batches: {
                id: string;
                tenant_id: string;
                /** @enum {string} */
                endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/text/sentiment" | "/v1/images/moderations" | "/v1/images/ocr";
                status: string;
                /** @description The models its lines name, as written. */
                models: string[];
                /** @description Where its lines go (`model@version`), by the tenant's pins and traffic. */
                versions: string[];
                lines_total: number;
                /** @description Answered or failed so far. */
                lines_done: number;
                created_at: number;
                expires_at: number;
            }[];
            /** @description Per model version: lines waiting, and lines answered lately (throughput). */
            versions: {
                /** @example sentiment@v1 */
                version: string;
                lines_waiting: number;
                answered_last_15m: number;
                answered_last_1h: number;
            }[];
            /** @description The local work queue (DynamoDB-kept): chunks waiting and set aside. Null with SQS: its depth is on the dashboard. */
            queue: {
                waiting: number;
                dead: number;
            } | null;
        };
    };
    responses: never;
    parameters: {
        /**
         * @description Makes a retry safe: a second request with the same key and the same body, from the same tenant, gets the first answer back (`idempotent-replayed: true`) and is neither served nor billed again. Only successful answers are kept; a failed request can be retried with the same key. A different body with the same key is 422 `idempotency_key_reused`; one still running is 409 `idempotency_in_progress`. A completed streamed answer cannot be replayed (409).
         * @example retry-7d3f2a9c
         */
        "Idempotency-Key": string;
    };
    requestBodies: never;
    headers: {
        /** @description The id of this request (`req_...`), also in an error's `request_id` and in every log line of the request. Quote it when asking about an answer. */
        "x-request-id": string;
        /** @description The model version that served the request, `name@version`: what `model` resolved to (your pin, an alias, the default or its share of traffic). */
        "x-model-version": string;
        /** @description Sent when the version that served the request is deprecated (RFC 9745): `@` and the Unix time it was deprecated at. It still answers until its `Sunset`; move to its replacement (GET /v1/models/{id}). */
        deprecation: string;
        /** @description Sent with `Deprecation` when the deprecated version has a retirement date (RFC 8594): after it, requests for that version are refused with `model_version_retired`. */
        sunset: string;
        /** @description Requests allowed per minute. The lower of the tenant's and the key's per-minute limits. Absent when no request limit applies. */
        "x-ratelimit-limit-requests": string;
        /** @description Requests left in this minute. The least left of the tenant's and the key's, as the admission saw it, not a live count: a request admitted from a capacity lease sees other keys' and other instances' requests only at the lease's next refill, and capacity leased but not yet used counts as used (docs/metering.md). 0 on a refusal. */
        "x-ratelimit-remaining-requests": string;
        /** @description Time until the request count resets: the end of the minute (UTC), in seconds, e.g. `12s`. */
        "x-ratelimit-reset-requests": string;
        /** @description Tokens allowed per minute (a chat request counts its prompt bound plus `max_tokens` while it runs). The lower of the tenant's and the key's per-minute limits. Absent when no token limit applies. */
        "x-ratelimit-limit-tokens": string;
        /** @description Tokens left in this minute. The least left of the tenant's and the key's, as the admission saw it, not a live count: a request admitted from a capacity lease sees other keys' and other instances' requests only at the lease's next refill, and capacity leased but not yet used counts as used (docs/metering.md). 0 on a refusal. */
        "x-ratelimit-remaining-tokens": string;
        /** @description Time until the token count resets: the end of the minute (UTC), in seconds, e.g. `12s`. */
        "x-ratelimit-reset-tokens": string;
        /** @description Seconds to wait before trying again. On a quota or spend-cap refusal, the time until the month (UTC) renews. */
        "retry-after": string;
        /** @description `true` when retrying later can succeed (rate limits, a busy store); `false` when it cannot until something changes (the month's included units or the spend cap). The official OpenAI SDKs follow it. */
        "x-should-retry": "true" | "false";
        /** @description Sent while the tenant's payment is past due: calls keep working until the date it names, then stop until the invoice is paid (GET /account/billing). */
        "x-tollgate-warning": string;
        /** @description `true` when this is the stored answer of an earlier request with the same `Idempotency-Key` (not served or billed again). */
        "idempotent-replayed": "true";
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
