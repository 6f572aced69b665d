import { describe, expect, it } from 'vitest';
import { genesisSpecValidator } from './helpers/hangar.js';

// The helper every API test leans on must itself reject what the spec does not allow.
describe('the reference-spec response validator', () => {
  const spec = genesisSpecValidator();
  const instance = {
    id: 'i', name: 'n', hostname: 'h', dns_name: '', reservation_id: null, type: 't', os_type: 'linux',
    public_ip: null, private_ip: null, status: 'active', ssh_keys: [], image: { id: 'x', name: 'y' },
    floating_ip: null, security_groups: [], volumes: [], region: 'NORD-NO-KRS-1', disk_size: 80,
    placement_option: 'AUTO', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
  };

  it('accepts a body that matches the operation and status', () => {
    expect(spec.check('GET', '/compute/v1/instances/abc', 200, { instance })).toEqual([]);
  });

  it('rejects a missing required field, a wrong enum value and a wrong wrapper', () => {
    const { dns_name: _dropped, ...withoutDns } = instance;
    expect(spec.check('GET', '/compute/v1/instances/abc', 200, { instance: withoutDns }).join()).toMatch(/dns_name/);
    expect(spec.check('GET', '/compute/v1/instances/abc', 200, { instance: { ...instance, status: 'running' } }).join()).toMatch(/allowed values/);
    expect(spec.check('GET', '/compute/v1/instances/abc', 200, instance)).not.toEqual([]);
  });

  it('holds error bodies to the Error schema and unknown statuses to it too', () => {
    expect(spec.check('GET', '/compute/v1/instances/abc', 404, { code: '02008', message: 'gone' })).toEqual([]);
    expect(spec.check('GET', '/compute/v1/instances/abc', 404, { error: 'gone' })).not.toEqual([]);
    expect(spec.check('GET', '/compute/v1/instances/abc', 201, { instance })).not.toEqual([]);
  });

  it('knows which routes the spec has', () => {
    expect(spec.operation('GET', '/compute/v1/instances')).toBe('/instances');
    expect(spec.operation('POST', '/compute/v1/instances/x/actions')).toBe('/instances/{instance_id}/actions');
    expect(spec.operation('GET', '/compute/v1/nothing-here')).toBeUndefined();
  });
});
