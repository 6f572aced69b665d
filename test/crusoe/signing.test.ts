import { describe, expect, it } from 'vitest';
import { canonicalQuery, decodedQuery, decodeSecret, signingMessages, parseAuthorization, parseTimestamp, sign, signingMessage, SigningError } from '../../src/clouds/crusoe/signing.js';
import { goCanonicalQuery, goValuesEncode, signCrusoe } from '../helpers/crusoe.js';

// The reference's test vectors (secret = the token secret of the seed's sample), copied here so
// nothing is read from outside the repository at test time.
const SECRET = 'HrbZ3VTUb2YNAq53Md1EsA';
const VECTORS = [
  {
    method: 'GET',
    path: '/v1alpha5/users/tokens',
    rawQuery: '',
    timestamp: '2024-05-01T12:00:00Z',
    canonical: '',
    signature: 'VK0BJ5_5MXeHiutbTS_bG5kvEF2tacDHI4TPuNQdlAE',
  },
  {
    method: 'GET',
    path: '/v1alpha5/projects/ab4a6b00-aa5f-408e-a9fb-ac6de5eb45ab/compute/vms/instances',
    rawQuery: 'sort=name&limit=20&next_token=bXktZmlyc3Qtdm0',
    timestamp: '2024-05-01T12:00:00Z',
    canonical: 'limit=20&next_token=bXktZmlyc3Qtdm0&sort=name',
    signature: 'zCck5yrB6vXS-wKaTHLe0A4psH2uTgV2OCulo449cBE',
  },
  {
    method: 'GET',
    path: '/v1alpha5/capacities',
    rawQuery: 'product_name=a100.1x%2Ca100.2x&location=us-east1-a&b=x+y&b=%2A~&flag',
    timestamp: '2024-05-01T12:00:00+00:00',
    canonical: 'b=x+y&b=%2A~&flag=&location=us-east1-a&product_name=a100.1x%2Ca100.2x',
    signature: '0Uau48Eg2rp-6X43vsaFTQnKeRS3DnW1TezY9E9P88M',
  },
  {
    method: 'POST',
    path: '/v1alpha5/projects/ab4a6b00-aa5f-408e-a9fb-ac6de5eb45ab/storage/disks',
    rawQuery: '',
    timestamp: '2024-05-01T12:00:00Z',
    canonical: '',
    signature: 'tPo1Uksut2nhtCc-Jr811HXL580AOPLcjGwDWfnycPE',
  },
];

describe('Crusoe request signing (version 1.0)', () => {
  it.each(VECTORS)('the server verifier reproduces the reference vector for $method $path', (v) => {
    expect(canonicalQuery(v.rawQuery)).toBe(v.canonical);
    const message = signingMessage(v.path, v.rawQuery, v.method, v.timestamp);
    expect(message).toBe(`${v.path}\n${v.canonical}\n${v.method}\n${v.timestamp}\n`);
    expect(sign(decodeSecret(SECRET), message)).toBe(v.signature);
  });

  it.each(VECTORS)('the test client signs $method $path exactly as the Go client does', (v) => {
    expect(goCanonicalQuery(v.rawQuery)).toBe(v.canonical);
    expect(signCrusoe({ secret: SECRET, method: v.method, path: v.path, rawQuery: v.rawQuery, timestamp: v.timestamp })).toBe(v.signature);
  });

  it('verifies a query signed either way: the Go client re-encodes values, dstack signs them decoded', () => {
    // The same request (?product_name=a100.1x%2Ca100.2x&location=us-east1-a), signed by each client
    // (the signatures computed with Python's hmac, as dstack's CrusoeClient._request does, secret as above).
    const rawQuery = 'product_name=a100.1x%2Ca100.2x&location=us-east1-a';
    const [goForm, dstackForm] = signingMessages('/v1alpha5/capacities', rawQuery, 'GET', '2024-05-01T12:00:00+00:00');
    expect(decodedQuery(rawQuery)).toBe('location=us-east1-a&product_name=a100.1x,a100.2x');
    expect(sign(decodeSecret(SECRET), goForm!)).toBe('bW4p4J1q1v-fnXj-v98_KC1880A_bFNJjwW8ggUWmyU');
    expect(sign(decodeSecret(SECRET), dstackForm!)).toBe('zfzcyOp2sWiNNTs24Q1t0i7WHVkw7RbhweAnwOJluwQ');
    // When both forms coincide only one message is tried.
    expect(signingMessages('/v1alpha5/locations', 'a=1&b=2', 'GET', 't')).toHaveLength(1);
    expect(signingMessages('/v1alpha5/locations', '', 'GET', 't')).toHaveLength(1);
  });

  it('canonicalizes repeated, escaped and unsorted parameters like url.Values.Encode', () => {
    expect(canonicalQuery('z=1&a=2&a=1&m=%7e%21')).toBe('a=2&a=1&m=~%21&z=1');
    expect(canonicalQuery("q=%28a%29*'&&x=%20")).toBe('q=%28a%29%2A%27&x=+');
    expect(canonicalQuery('k=caf%C3%A9&k=%E2%9C%93')).toBe('k=caf%C3%A9&k=%E2%9C%93');
    expect(goValuesEncode({ names: 'my vm', ids: ['b', 'a'], states: 'STATE_RUNNING,STATE_SHUTOFF' })).toBe(
      'ids=b&ids=a&names=my+vm&states=STATE_RUNNING%2CSTATE_SHUTOFF',
    );
    expect(() => canonicalQuery('a=1;b=2')).toThrow(SigningError);
    expect(() => canonicalQuery('a=%zz')).toThrow(SigningError);
  });

  it('parses the Authorization and timestamp headers strictly', () => {
    expect(parseAuthorization(`Bearer 1.0:key:${'a'.repeat(43)}`)).toEqual({ accessKey: 'key', signature: 'a'.repeat(43) });
    for (const bad of [undefined, '', 'Basic abc', 'Bearer 2.0:key:' + 'a'.repeat(43), 'Bearer 1.0::' + 'a'.repeat(43), 'Bearer 1.0:key:short', 'Bearer 1.0:key']) {
      expect(() => parseAuthorization(bad)).toThrow(SigningError);
    }
    expect(parseTimestamp('2024-05-01T12:00:00Z')).toBe(Date.parse('2024-05-01T12:00:00Z'));
    expect(parseTimestamp('2024-05-01T12:00:00+00:00')).toBe(Date.parse('2024-05-01T12:00:00Z'));
    for (const bad of [undefined, 'yesterday', '2024-05-01 12:00:00', '1714564800', ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00Z']]) {
      expect(() => parseTimestamp(bad)).toThrow(SigningError);
    }
  });
});
