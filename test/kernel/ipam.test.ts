import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { formatIpv4, parseCidr } from '../../src/kernel/ipam.js';
import { Kernel } from '../../src/kernel/kernel.js';

const log = { info() {}, warn() {}, error() {} };

describe('CIDR helpers', () => {
  it('parses a CIDR into its network address and size', () => {
    expect(parseCidr('10.0.0.0/29')).toEqual({ base: 10 * 2 ** 24, size: 8, prefix: 29 });
    // A host address inside the block is brought down to the network address.
    expect(parseCidr('192.168.1.77/24')).toEqual({ base: parseCidr('192.168.1.0/24').base, size: 256, prefix: 24 });
    expect(parseCidr('0.0.0.0/0').size).toBe(2 ** 32);
  });

  it.each(['10.0.0.0', '10.0.0/24', '256.0.0.0/8', '10.0.0.0/33', 'fe80::/64', ''])('refuses %j', (cidr) => {
    expect(() => parseCidr(cidr)).toThrow(RangeError);
  });

  it('formats addresses back', () => {
    expect(formatIpv4(parseCidr('10.96.3.4/32').base)).toBe('10.96.3.4');
    expect(formatIpv4(2 ** 32 - 1)).toBe('255.255.255.255');
  });
});

describe('address pools', () => {
  let kernel: Kernel;
  beforeEach(async () => {
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
  });
  afterEach(() => kernel.close());

  it('hands out distinct host addresses, never .0, .1 or .255', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '10.1.0.0/22');
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const address = await kernel.ipam.allocate(kernel.db, 'p', `owner-${i}`);
      expect(address).not.toBeNull();
      seen.add(address!);
    }
    expect(seen.size).toBe(600);
    for (const address of seen) {
      expect(address).toMatch(/^10\.1\.[0-3]\.\d+$/);
      expect(address).not.toMatch(/\.(0|255)$/);
      expect(address).not.toBe('10.1.0.1');
    }
  });

  it('returns null once a /29 is exhausted, and reuses a released address', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'small', '192.0.2.8/29');
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await kernel.ipam.allocate(kernel.db, 'small', `o${i}`))!);
    expect(got).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']);
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'late')).toBeNull();

    await kernel.ipam.release(kernel.db, 'o2', [['small', '192.0.2.12']]);
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'late')).toBe('192.0.2.12');
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'later')).toBeNull();
  });

  it('releases the addresses the owner holds and nothing else', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'a', '198.51.100.0/29');
    await kernel.ipam.ensurePool(kernel.db, 'b', '203.0.113.0/29');
    const xa = await kernel.ipam.allocate(kernel.db, 'a', 'x');
    const xb = await kernel.ipam.allocate(kernel.db, 'b', 'x');
    const ya = await kernel.ipam.allocate(kernel.db, 'a', 'y');
    // y's address named under x (as an instance names a floating IP's address it shows), and
    // none at all, change nothing.
    await kernel.ipam.release(kernel.db, 'x', [['a', ya], ['b', null]]);
    expect(await kernel.db.selectFrom('ip_leases').select('owner').orderBy('owner').execute()).toEqual([{ owner: 'x' }, { owner: 'x' }, { owner: 'y' }]);
    await kernel.ipam.release(kernel.db, 'x', [['a', xa], ['b', xb]]);
    const leases = await kernel.db.selectFrom('ip_leases').select(['pool', 'owner']).execute();
    expect(leases).toEqual([{ pool: 'a', owner: 'y' }]);
  });

  it('keeps the first definition of a pool and refuses a bad or unknown one', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/29');
    await kernel.ipam.ensurePool(kernel.db, 'p', '10.0.0.0/8');
    expect(await kernel.ipam.allocate(kernel.db, 'p', 'o')).toMatch(/^192\.0\.2\./);
    await expect(kernel.ipam.ensurePool(kernel.db, 'bad', 'nonsense')).rejects.toThrow(RangeError);
    await expect(kernel.ipam.allocate(kernel.db, 'missing', 'o')).rejects.toThrow(/unknown address pool/);
  });
});
