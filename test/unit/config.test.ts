import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';

describe('PUBLIC_URL, where the links in account emails point', () => {
  it('follows PORT when not set', () => {
    expect(loadConfig({}).PUBLIC_URL).toBe('http://localhost:8787');
    expect(loadConfig({ PORT: '18840' }).PUBLIC_URL).toBe('http://localhost:18840');
    // Empty means not given, as for the other optional URLs.
    expect(loadConfig({ PORT: '18840', PUBLIC_URL: '' }).PUBLIC_URL).toBe('http://localhost:18840');
  });

  it('is what it is set to, whatever the port', () => {
    expect(loadConfig({ PORT: '18840', PUBLIC_URL: 'https://console.example.com' }).PUBLIC_URL).toBe(
      'https://console.example.com',
    );
    expect(() => loadConfig({ PUBLIC_URL: 'not a url' })).toThrow(/PUBLIC_URL/);
  });
});

describe('IMAGE_URL_ALLOW_LOOPBACK_HTTP, the local-only way to serve images from 127.0.0.1', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).IMAGE_URL_ALLOW_LOOPBACK_HTTP).toBe(false);
    expect(loadConfig({ IMAGE_URL_ALLOW_LOOPBACK_HTTP: 'true' }).IMAGE_URL_ALLOW_LOOPBACK_HTTP).toBe(true);
  });

  it('stops a Lambda function from starting with it on', () => {
    expect(() =>
      loadConfig({
        IMAGE_URL_ALLOW_LOOPBACK_HTTP: 'true',
        AWS_LAMBDA_FUNCTION_NAME: 'tollgate-dev-api-data',
      }),
    ).toThrow(/IMAGE_URL_ALLOW_LOOPBACK_HTTP: local only/);
    expect(
      loadConfig({ AWS_LAMBDA_FUNCTION_NAME: 'tollgate-dev-api-data' }).IMAGE_URL_ALLOW_LOOPBACK_HTTP,
    ).toBe(false);
  });
});

describe('LLM_WIRE_VERSIONS, the local-only way to run a version over TGI’s wire', () => {
  it('stops a Lambda function from starting with it set, and is fine locally', () => {
    expect(() =>
      loadConfig({ LLM_WIRE_VERSIONS: 'chat@tiny-1', AWS_LAMBDA_FUNCTION_NAME: 'tollgate-dev-api-data' }),
    ).toThrow(/LLM_WIRE_VERSIONS: local only/);
    expect(() => loadConfig({ LLM_WIRE_VERSIONS: 'chat@tiny-1' })).not.toThrow();
    expect(() =>
      loadConfig({ LLM_WIRE_VERSIONS: '', AWS_LAMBDA_FUNCTION_NAME: 'tollgate-dev-api-data' }),
    ).not.toThrow();
  });
});
