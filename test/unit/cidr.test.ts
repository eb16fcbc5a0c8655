import { describe, expect, it } from 'vitest';
import { callRefusal, endpointOf, versionsAllowed } from '../../shared/auth/key-scope-rules';
import { format, inRanges, parseAddress, parseCidr } from '../../shared/http/cidr';

describe('CIDR ranges for key IP allowlists', () => {
  it('parses IPv4 and IPv6 ranges, a bare address as its own range, and prints them canonically', () => {
    const show = (t: string) => {
      const r = parseCidr(t);
      return 'error' in r ? r.error : format(r);
    };
    expect(show('203.0.113.0/24')).toBe('203.0.113.0/24');
    expect(show('203.0.113.7')).toBe('203.0.113.7/32');
    expect(show('2001:DB8:0:0::/32')).toBe('2001:db8::/32');
    expect(show('::1')).toBe('::1/128');
    expect(show('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(show('10.0.0.5/8')).toContain('the range is 10.0.0.0/8');
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0/8',
      'example.com',
      '10.0.0.0/8/1',
      '10.0.0.0/x',
      '',
      'fe80::1%eth0',
    ])
      expect(parseCidr(bad)).toHaveProperty('error');
  });

  it('matches addresses by family, an IPv4-mapped IPv6 address as IPv4', () => {
    const ranges = ['203.0.113.0/24', '2001:db8::/32'];
    expect(inRanges('203.0.113.255', ranges)).toBe(true);
    expect(inRanges('203.0.114.0', ranges)).toBe(false);
    expect(inRanges('::ffff:203.0.113.9', ranges)).toBe(true);
    expect(inRanges('2001:db8:ffff::1', ranges)).toBe(true);
    expect(inRanges('2001:db9::1', ranges)).toBe(false);
    expect(inRanges('not an address', ranges)).toBe(false);
    expect(inRanges('198.51.100.1', ['0.0.0.0/0'])).toBe(true);
    expect(inRanges('2001:db8::1', ['0.0.0.0/0'])).toBe(false);
    expect(parseAddress('::ffff:192.0.2.1')).toEqual({ family: 4, value: 0xc0000201n });
  });
});

describe('key scope rules', () => {
  it('maps /v1 paths to endpoints; models and usage are nobody’s', () => {
    expect(endpointOf('/v1/chat/completions')).toBe('chat');
    expect(endpointOf('/v1/embeddings')).toBe('embeddings');
    expect(endpointOf('/v1/text/sentiment')).toBe('text');
    expect(endpointOf('/v1/images/ocr')).toBe('images');
    expect(endpointOf('/v1/files/file-1/content')).toBe('batch');
    expect(endpointOf('/v1/batches')).toBe('batch');
    expect(endpointOf('/v1/models')).toBeNull();
    expect(endpointOf('/v1/usage')).toBeNull();
    expect(endpointOf('/v1/chatter')).toBeNull();
  });

  it('refuses by address first, then read-only, then endpoint', () => {
    const scope = { readOnly: true, endpoints: ['text' as const], ipAllowlist: ['192.0.2.0/24'] };
    const code = (method: string, path: string, address: string | null | false) =>
      callRefusal(scope, { method, path, address })?.code ?? null;
    expect(code('POST', '/v1/chat/completions', '198.51.100.1')).toBe('ip_not_in_key_allowlist');
    expect(code('GET', '/v1/models', null)).toBe('ip_not_in_key_allowlist');
    expect(code('POST', '/v1/chat/completions', '192.0.2.1')).toBe('key_read_only');
    expect(code('GET', '/v1/batches', false)).toBe('endpoint_not_in_key_scope');
    expect(code('GET', '/v1/usage', '192.0.2.1')).toBeNull();
    expect(
      callRefusal(undefined, { method: 'POST', path: '/v1/chat/completions', address: null }),
    ).toBeNull();
  });

  it('a model named alone allows all its versions; versions listed allow only those', () => {
    expect(versionsAllowed(undefined, 'chat')).toBe('all');
    expect(versionsAllowed({ models: [] }, 'chat')).toBe('all');
    expect(versionsAllowed({ models: ['chat', 'chat@tiny-1'] }, 'chat')).toBe('all');
    expect(versionsAllowed({ models: ['chat@b', 'chat@a', 'chatter'] }, 'chat')).toEqual(['b', 'a']);
    expect(versionsAllowed({ models: ['sentiment'] }, 'chat')).toBe('none');
  });
});
