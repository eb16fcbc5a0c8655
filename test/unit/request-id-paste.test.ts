import { describe, expect, it } from 'vitest';
import { requestIdFromPaste } from '../../web/src/lib/request-id';

const ID = 'req_01JF3Q8W7X2V5N9K4M6P8R0T2Y';

describe('a request id as pasted into the Requests page', () => {
  it('is found in what comes with it from an error, a header or a log', () => {
    for (const pasted of [
      ID,
      `  ${ID}\n`,
      `"${ID}"`,
      `'${ID}',`,
      `"request_id": "${ID}"`,
      `request_id: ${ID}`,
      `x-request-id: ${ID}`,
      `{"error":{"message":"Rate limit","type":"rate_limit_error","code":"rate_limit_requests","param":null,"request_id":"${ID}"}}`,
      ID.toLowerCase(),
    ]) {
      expect(requestIdFromPaste(pasted), pasted).toBe(ID);
    }
  });

  it('is null when there is none, or only part of one', () => {
    for (const pasted of [
      '',
      '   ',
      'req_',
      'req_123',
      `${ID}X`,
      'key_01JF3Q8W7X2V5N9K4M6P8R0T2Y',
      'hello',
    ]) {
      expect(requestIdFromPaste(pasted), pasted).toBeNull();
    }
  });
});
