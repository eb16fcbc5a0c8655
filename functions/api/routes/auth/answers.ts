import { EmailDeliveryError } from '#shared/email/email-sender';
import { ApiError } from '#shared/errors';

/** 429 with Retry-After, naming what was limited. */
export function rateLimitedError(retryAfterSeconds: number, what: string): ApiError {
  return new ApiError('rate_limited', `Too many ${what}; try again in ${retryAfterSeconds} seconds.`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/** An email the answer depends on could not be sent: 503, logged by onError with its cause. */
export function emailUnavailable(err: unknown): never {
  if (err instanceof EmailDeliveryError) {
    throw new ApiError('email_unavailable', 'The email could not be sent; try again in a few minutes.', {
      cause: err,
    });
  }
  throw err;
}

/** The answer for a one-time email token that is unknown, spent, or expired. */
export function tokenError(status: 'unknown' | 'expired', what: string, again: string): ApiError {
  return status === 'expired'
    ? new ApiError('email_token_expired', `This ${what} token has expired. ${again}`, { param: 'token' })
    : new ApiError('invalid_request', `This ${what} token is unknown or already used. ${again}`, {
        param: 'token',
      });
}
