import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import {
  BOOT_MS,
  expectError,
  insertFloatingIp,
  insertSecurityGroup,
  insertVolume,
  REGION,
  standardGroupId,
  UBUNTU_20,
  UBUNTU_22,
} from '../helpers/genesis.js';

/**
 * Every curl example of the seed documents (001 instances, 002 snapshots), sent with its exact
 * body; only ids the test creates are filled in. The examples build on each other, as a user
 * following the documentation would.
 */
describe('seed examples, sent as documented', () => {
  let h: TestHangar;
  let keyId: string;
  let keyName: string;
  let floatingIpId: string;
  let standardId: string;
  let exampleSgId: string;
  let volumeId: string;
  /** From the curl create example (image Ubuntu 20.04, no floating IP). */
  let curlInstance: any;
  /** From the schema section's create body (floating IP, metadata, disk 128). */
  let schemaInstance: any;
  let snapshotId: string;

  beforeAll(async () => {
    h = await startHangar();
    const key = await h.genesis.post('/ssh-keys', { name: 'ssh-key-name', value: publicKey() });
    expect(key.status).toBe(201);
    keyId = key.body.id;
    keyName = key.body.name;
    floatingIpId = await insertFloatingIp(h, h.demoAccountId, '<floating_ip_name>', '198.51.100.127');
    standardId = await standardGroupId(h, h.demoAccountId);
    exampleSgId = await insertSecurityGroup(h, h.demoAccountId, 'example sg');
    volumeId = await insertVolume(h, h.demoAccountId, '<volume_name>');
  });
  afterAll(() => h.close());

  it('# Create a new instance (curl example, with the region it leaves out)', async () => {
    const res = await h.genesis.post('/instances', {
      name: 'name',
      hostname: 'hostname',
      type: 'vcpu-4_memory-12g_nvidia-rtx-3080-1',
      image: 'ac26fa2b-c6d5-47a7-bc4e-5a219797e70f',
      ssh_keys: [keyId],
      region: 'NORD-NO-KRS-1',
    });
    expect(res.status, res.text).toBe(201);
    curlInstance = res.body.instance;
    expect(curlInstance).toMatchObject({
      name: 'name',
      hostname: 'hostname',
      type: 'vcpu-4_memory-12g_nvidia-rtx-3080-1',
      region: 'NORD-NO-KRS-1',
      image: { id: UBUNTU_20, name: 'Ubuntu 20.04' },
      floating_ip: null,
      ssh_keys: [{ id: keyId, name: keyName }],
      security_groups: [{ id: standardId, name: 'standard' }],
      volumes: [],
      is_protected: false,
      status: 'creating',
      disk_size: 80,
      placement_option: 'AUTO',
    });
    expect(curlInstance.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(curlInstance.created_at).toBe(new Date(h.clock.now()).toISOString());
  });

  it('creates an instance with the schema section body (floating IP, metadata, disk 128)', async () => {
    const res = await h.genesis.post('/instances', {
      name: 'name',
      hostname: 'hostname',
      type: 'vcpu-8_memory-48g_nvidia-rtx-3090-2',
      region: 'NORD-NO-KRS-1',
      image: '7b1644e2-d97d-4725-a927-0028bc60bc28',
      floating_ip: floatingIpId,
      ssh_keys: [keyId],
      metadata: {
        startup_script: '#!/bin/bash\nsudo apt update && sudo apt install iperf3',
      },
      disk_size: 128,
    });
    expect(res.status, res.text).toBe(201);
    schemaInstance = res.body.instance;
    expect(schemaInstance).toMatchObject({
      type: 'vcpu-8_memory-48g_nvidia-rtx-3090-2',
      image: { id: UBUNTU_22, name: 'Ubuntu 22.04' },
      floating_ip: { id: floatingIpId, name: '<floating_ip_name>' },
      ssh_keys: [{ id: keyId, name: 'ssh-key-name' }],
      security_groups: [{ id: standardId, name: 'standard' }],
      volumes: [],
      status: 'creating',
      disk_size: 128,
    });

    await h.advance(BOOT_MS);
    const booted = (await h.genesis.get(`/instances/${schemaInstance.id}`)).body.instance;
    expect(booted.status).toBe('active');
    // The floating IP is the instance's public address.
    expect(booted.public_ip).toBe('198.51.100.127');
    expect(booted.private_ip).toMatch(/^10\./);
    const metadata = await h.genesis.get(`/instances/${schemaInstance.id}/user-metadata`);
    expect(metadata.body).toEqual({ startup_script: '#!/bin/bash\nsudo apt update && sudo apt install iperf3' });
  });

  it('# List all instances of an account', async () => {
    const res = await h.genesis.get('/instances');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_count: 2, page: 1, per_page: 50 });
    expect(res.body.instances.map((i: any) => i.id).sort()).toEqual([curlInstance.id, schemaInstance.id].sort());
    for (const instance of res.body.instances) expect(instance.status).toBe('active');
  });

  it('# Get instance by id', async () => {
    const res = await h.genesis.get(`/instances/${curlInstance.id}`);
    expect(res.status).toBe(200);
    expect(res.body.instance).toMatchObject({
      id: curlInstance.id,
      name: 'name',
      status: 'active',
      image: { id: UBUNTU_20, name: 'Ubuntu 20.04' },
      created_at: curlInstance.created_at,
    });
    expect(res.body.instance.public_ip).toMatch(/^100\./);
  });

  it('# Snapshot an instance', async () => {
    const res = await h.genesis.post(`/instances/${curlInstance.id}/snapshots`, { name: 'snapshot-name' });
    expect(res.status, res.text).toBe(201);
    snapshotId = res.body.snapshot.id;
    expect(res.body.snapshot).toMatchObject({ name: 'snapshot-name', region: REGION, status: 'creating', resource_id: curlInstance.id, size: 80 });
    await h.advance(3_000);
    expect((await h.genesis.get(`/snapshots/${snapshotId}`)).body.snapshot.status).toBe('created');
  });

  it('# List all Snapshots of an instance', async () => {
    const res = await h.genesis.get(`/instances/${curlInstance.id}/snapshots`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_count: 1, page: 1, per_page: 50 });
    expect(res.body.snapshots).toHaveLength(1);
    expect(res.body.snapshots[0]).toMatchObject({ id: snapshotId, name: 'snapshot-name', size: 80, status: 'created', resource_id: curlInstance.id });
    // The other instance has none.
    expect((await h.genesis.get(`/instances/${schemaInstance.id}/snapshots`)).body).toMatchObject({ snapshots: [], total_count: 0 });
  });

  it('attaches security groups by passing the full list (schema section body)', async () => {
    const res = await h.genesis.patch(`/instances/${curlInstance.id}`, { security_groups: [standardId, exampleSgId] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.instance.security_groups).toEqual([
      { id: standardId, name: 'standard' },
      { id: exampleSgId, name: 'example sg' },
    ]);
  });

  it('# Update the security groups of an instance', async () => {
    const res = await h.genesis.patch(`/instances/${curlInstance.id}`, { security_groups: [standardId] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.instance.security_groups).toEqual([{ id: standardId, name: 'standard' }]);
    expect((await h.genesis.get(`/instances/${curlInstance.id}`)).body.instance.security_groups).toEqual([{ id: standardId, name: 'standard' }]);
  });

  it('# Update the volumes of an instance', async () => {
    const res = await h.genesis.patch(`/instances/${curlInstance.id}`, { volumes: [volumeId] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.instance.volumes).toEqual([{ id: volumeId, name: '<volume_name>' }]);
    // A volume serves one instance at a time.
    const other = await h.genesis.patch(`/instances/${schemaInstance.id}`, { volumes: [volumeId] });
    expectError(other, 400, '02032', volumeId);
  });

  it('updates name, protection and disk size (Update an Instance body)', async () => {
    const res = await h.genesis.patch(`/instances/${curlInstance.id}`, {
      name: 'My Genesis Cloud instance',
      is_protected: true,
      disk_size: 256,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.instance).toMatchObject({ name: 'My Genesis Cloud instance', hostname: 'hostname', is_protected: true, disk_size: 256, status: 'active' });
  });

  it('# Get instance actions', async () => {
    const res = await h.genesis.get(`/instances/${curlInstance.id}/actions`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ actions: ['reset', 'stop'] });
  });

  it('# Perform a reset action', async () => {
    const res = await h.genesis.post(`/instances/${curlInstance.id}/actions`, { action: 'reset' });
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    expect((await h.genesis.get(`/instances/${curlInstance.id}`)).body.instance.status).toBe('resetting');
    await h.advance(2_000);
    expect((await h.genesis.get(`/instances/${curlInstance.id}`)).body.instance.status).toBe('active');
  });

  it('# List all snapshots', async () => {
    const res = await h.genesis.get('/snapshots');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_count: 1, page: 1, per_page: 50 });
    expect(res.body.snapshots.map((s: any) => s.id)).toEqual([snapshotId]);
  });

  it('creates a snapshot from an image URL (Create Snapshot body)', async () => {
    const res = await h.genesis.post('/snapshots', {
      name: 'snapshot name',
      size: 128,
      url: 'https://images.example.com/custom.raw.zst',
      os_type: 'linux',
      region: 'NORD-NO-KRS-1',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.snapshot).toMatchObject({ name: 'snapshot name', status: 'creating', os_type: 'linux', region: REGION, resource_id: '', size: 128 });
    expect(res.body.snapshot.updated_at).toBe(res.body.snapshot.created_at);
  });

  it('# Get a snapshot by id', async () => {
    const res = await h.genesis.get(`/snapshots/${snapshotId}`);
    expect(res.status).toBe(200);
    expect(res.body.snapshot).toMatchObject({ id: snapshotId, name: 'snapshot-name', size: 80, region: REGION, status: 'created', resource_id: curlInstance.id });
  });

  it('# Delete a snapshot by id', async () => {
    const res = await h.genesis.delete(`/snapshots/${snapshotId}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    expect((await h.genesis.get(`/snapshots/${snapshotId}`)).body.snapshot.status).toBe('deleting');
    await h.advance(1_000);
    expectError(await h.genesis.get(`/snapshots/${snapshotId}`), 404, '02015', snapshotId);
  });

  it('# Destroy a instance', async () => {
    // The update example protected it; protection must be lifted first.
    expectError(await h.genesis.delete(`/instances/${curlInstance.id}`), 400, '02038', curlInstance.id);
    expect((await h.genesis.patch(`/instances/${curlInstance.id}`, { is_protected: false })).status).toBe(200);

    const res = await h.genesis.delete(`/instances/${curlInstance.id}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    expect((await h.genesis.get(`/instances/${curlInstance.id}`)).body.instance.status).toBe('deleting');
    await h.advance(2_000);
    expectError(await h.genesis.get(`/instances/${curlInstance.id}`), 404, '02008', curlInstance.id);
    const list = await h.genesis.get('/instances');
    expect(list.body.total_count).toBe(1);
    expect(list.body.instances.map((i: any) => i.id)).toEqual([schemaInstance.id]);
    // Its volume is left intact and free to attach elsewhere.
    const attach = await h.genesis.patch(`/instances/${schemaInstance.id}`, { volumes: [volumeId] });
    expect(attach.status, attach.text).toBe(200);
    expect(attach.body.instance.volumes).toEqual([{ id: volumeId, name: '<volume_name>' }]);
  });
});
