import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../shared/cache';
import { ConfigError, loadConfig } from '../../shared/config';
import { ApiError } from '../../shared/errors';
import { isId, newId } from '../../shared/ids';
import { costNanoUsd, formatUsd } from '../../shared/metering/pricing';

describe('ids', () => {
  it('are prefixed, time-ordered and unique', () => {
    const a = newId('req', 1_000);
    const b = newId('req', 2_000);
    expect(isId(a, 'req')).toBe(true);
    expect(isId(a, 'ten')).toBe(false);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId('key'))).size).toBe(1000);
  });
});

describe('pricing', () => {
  it('computes exact integer nano-USD costs', () => {
    expect(costNanoUsd({ input_tokens: 1234 }, { input_tokens: 100 })).toBe(123_400);
    expect(
      costNanoUsd({ input_tokens: 10, output_tokens: 5 }, { input_tokens: 100, output_tokens: 300 }),
    ).toBe(2_500);
    expect(costNanoUsd({ images: 3 }, {})).toBe(0);
  });

  it('formats nano-USD without losing a digit', () => {
    expect(formatUsd(0)).toBe('0.000000000');
    expect(formatUsd(123_400)).toBe('0.000123400');
    expect(formatUsd(12_000_000_001)).toBe('12.000000001');
  });
});

describe('config', () => {
  it('has defaults for a laptop', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8787);
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.TOLLGATE_IN_MEMORY).toBe(false);
    expect(c.DYNAMODB_ENDPOINT).toBeUndefined();
  });

  it('names every bad field', () => {
    expect(() => loadConfig({ PORT: 'eighty', DYNAMODB_ENDPOINT: 'not a url' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', DYNAMODB_ENDPOINT: 'not a url' });
    } catch (e) {
      expect((e as Error).message).toContain('PORT');
      expect((e as Error).message).toContain('DYNAMODB_ENDPOINT');
    }
  });

  it('treats an empty endpoint as unset and parses booleans', () => {
    const c = loadConfig({ DYNAMODB_ENDPOINT: '', TOLLGATE_IN_MEMORY: '1' });
    expect(c.DYNAMODB_ENDPOINT).toBeUndefined();
    expect(c.TOLLGATE_IN_MEMORY).toBe(true);
  });
});

describe('ApiError', () => {
  it('maps each code to one status and the OpenAI envelope', () => {
    const e = new ApiError('model_not_found', 'nope', { param: 'model' });
    expect(e.status).toBe(400);
    expect(e.toEnvelope('req_1')).toEqual({
      error: {
        message: 'nope',
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
        request_id: 'req_1',
      },
    });
    expect(new ApiError('model_timeout', 'x').status).toBe(504);
    expect(new ApiError('missing_api_key', 'x').status).toBe(401);
  });
});

describe('TtlCache', () => {
  it('expires entries after the TTL and bounds its size', () => {
    let now = 0;
    const cache = new TtlCache<number>(100, 2, () => now);
    cache.set('a', 1);
    now = 99;
    expect(cache.get('a')).toBe(1);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
  });

  it('shares one load between concurrent misses', async () => {
    const cache = new TtlCache<number>(1000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return 7;
    };
    const values = await Promise.all([
      cache.getOrLoad('k', load),
      cache.getOrLoad('k', load),
      cache.getOrLoad('k', load),
    ]);
    expect(values).toEqual([7, 7, 7]);
    expect(loads).toBe(1);
  });
});
