import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecValidator } from '../helpers/spec-validator.js';
import { crusoeSpecValidator } from '../helpers/crusoe.js';

// The shared validator must hold Crusoe's Swagger 2 shapes as strictly as Genesis's OpenAPI 3.
describe('the reference-spec validator on the Crusoe (Swagger 2) spec', () => {
  const spec = crusoeSpecValidator();
  const dir = mkdtempSync(join(tmpdir(), 'hangar-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('routes literal segments before parameters', () => {
    expect(spec.operation('GET', '/v1alpha5/projects/p/compute/vms/instances/operations')).toBe('/projects/{project_id}/compute/vms/instances/operations');
    expect(spec.operation('GET', '/v1alpha5/projects/p/compute/vms/instances/abc')).toBe('/projects/{project_id}/compute/vms/instances/{vm_id}');
    expect(spec.operation('GET', '/v1alpha5/nothing')).toBeUndefined();
  });

  it('holds operations, errors and empty responses to the spec', () => {
    const op = { operation_id: 'o', state: 'IN_PROGRESS', metadata: {}, started_at: 't', completed_at: '' };
    expect(spec.check('GET', '/v1alpha5/projects/p/compute/vms/instances/operations/o', 200, op)).toEqual([]);
    expect(spec.check('GET', '/v1alpha5/projects/p/compute/vms/instances/operations/o', 200, { ...op, state: 'DONE' }).join()).toMatch(/allowed values/);
    expect(spec.check('GET', '/v1alpha5/projects/p/compute/vms/instances/x', 200, { id: 'x' }).join()).toMatch(/maintenance_policy/);
    expect(spec.check('GET', '/v1alpha5/projects/p/compute/vms/instances/x', 403, { code: '403', message: 'unauthorized' })).toEqual([]);
    expect(spec.check('GET', '/v1alpha5/projects/p/compute/vms/instances/x', 403, { error: 'no' })).not.toEqual([]);
    expect(spec.check('DELETE', '/v1alpha5/organizations/projects/p', 200, undefined)).toEqual([]);
    expect(spec.check('DELETE', '/v1alpha5/organizations/projects/p', 200, {})).not.toEqual([]);
    expect(spec.lists('GET', '/v1alpha5/projects/p/compute/vms/instances/x', 404)).toBe(false);
    expect(spec.checkShared('badReqError', { code: '404', message: 'gone', reason: 'not_found', error_id: 'e' })).toEqual([]);
    expect(spec.checkShared('badReqError', { message: 'gone' })).not.toEqual([]);
  });

  it("reads Swagger 2's x-nullable and integer formats", () => {
    const file = join(dir, 'tiny.json');
    writeFileSync(
      file,
      JSON.stringify({
        swagger: '2.0',
        paths: {
          '/thing': {
            get: {
              responses: {
                200: {
                  schema: {
                    type: 'object',
                    required: ['maybe', 'count'],
                    properties: { maybe: { type: 'boolean', 'x-nullable': true }, count: { type: 'integer', format: 'uint32' } },
                  },
                },
              },
            },
          },
        },
      }),
    );
    const tiny = new SpecValidator(file, '');
    expect(tiny.check('GET', '/thing', 200, { maybe: null, count: 3 })).toEqual([]);
    expect(tiny.check('GET', '/thing', 200, { maybe: true, count: 3 })).toEqual([]);
    expect(tiny.check('GET', '/thing', 200, { maybe: 'yes', count: 3 })).not.toEqual([]);
    expect(tiny.check('GET', '/thing', 200, { maybe: false, count: -1 })).not.toEqual([]);
  });
});
