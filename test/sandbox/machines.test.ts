import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { BOOT_MS, CPU_TYPE, createKey, createInstance } from '../helpers/genesis.js';
import type { HttpClient } from '../helpers/http-client.js';
import { findCgroups } from '../../src/fabric/cgroups.js';
import { SshClient, eventually, run, sandboxEnv, sandboxUnavailable } from '../helpers/ssh.js';

const unavailable = sandboxUnavailable();

/** What the stock OpenSSH client does after "running", isolation between instances, and a restart. */
describe.skipIf(unavailable !== null)('sandbox machines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-machines-'));
  let h: TestHangar;
  const client = new SshClient();

  beforeAll(async () => {
    h = await startHangar({ env: sandboxEnv(join(dir, 'files')) });
  });
  afterAll(async () => {
    await h?.close();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An active instance of `genesis`'s account, reachable with the test's key; its public address. */
  async function machine(genesis: HttpClient, body: Record<string, unknown> = {}): Promise<{ id: string; ip: string }> {
    const key = await createKey(genesis, `k${randomInt(1e9)}`, client.publicKey);
    const created = await createInstance(genesis, { type: CPU_TYPE, image: 'ubuntu-22.04', ssh_keys: [key.id], ...body });
    await h.advance(BOOT_MS);
    await h.hangar.fabric.settled();
    const instance = (await genesis.get(`/instances/${created.id}`)).body.instance;
    expect(instance.status).toBe('active');
    return { id: created.id, ip: instance.public_ip };
  }

  it('serves a pty, sftp, rsync and -L port forwarding to a port inside the instance', async () => {
    const { ip } = await machine(h.genesis, { hostname: 'tools' });
    const target = `ubuntu@${ip}`;
    const pty = await client.ssh(target, 'tty; id -un', ['-tt']);
    expect(pty.code, pty.stderr).toBe(0);
    expect(pty.stdout.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\nubuntu\n$/);

    const local = join(client.dir, 'tree');
    mkdirSync(join(local, 'sub'), { recursive: true });
    writeFileSync(join(local, 'sub', 'a.txt'), 'rsynced\n');
    writeFileSync(join(client.dir, 'batch'), `put ${join(local, 'sub', 'a.txt')} via-sftp.txt\nls\n`);
    const sftp = await run('sftp', [...client.options(), '-b', join(client.dir, 'batch'), target]);
    expect(sftp.code, sftp.stderr).toBe(0);
    const rsync = await run('rsync', ['-a', '-e', `ssh ${client.options().join(' ')}`, `${local}/`, `${target}:copy/`]);
    expect(rsync.code, rsync.stderr).toBe(0);
    expect((await client.ssh(target, 'cat via-sftp.txt copy/sub/a.txt')).stdout).toBe('rsynced\nrsynced\n');

    // A server inside the instance, on its own loopback; -L brings it to the host.
    const server = await client.ssh(target, `nohup node -e "require('http').createServer((q, s) => s.end('inside ' + require('os').hostname())).listen(8081, '127.0.0.1')" >/dev/null 2>&1 & echo started`);
    expect(server.stdout).toBe('started\n');
    const port = randomInt(20_000, 40_000);
    const tunnel = spawn('ssh', [...client.options(), '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${port}:127.0.0.1:8081`, target], { stdio: 'ignore' });
    try {
      const body = await eventually(
        () => get(`http://127.0.0.1:${port}/`),
        (text) => text !== null,
      );
      expect(body).toBe('inside tools');
    } finally {
      tunnel.kill();
    }
  });

  it("keeps accounts' instances apart, and away from Hangar's files, secrets and network", async () => {
    const other = await h.newAccount('other');
    const a = await machine(h.genesis, { hostname: 'alpha' });
    const b = await machine(other.genesis, { hostname: 'beta' });
    const wrote = await client.ssh(`ubuntu@${a.ip}`, 'echo private > ~/alpha-secret.txt; nohup sleep 4242 >/dev/null 2>&1 & echo ok');
    expect(wrote.stdout).toBe('ok\n');
    const port = new URL(h.url).port;
    const look = await client.ssh(
      `root@${b.ip}`,
      [
        'hostname',
        'ls -R /home /root /tmp /var /mnt /opt /srv 2>/dev/null | grep -c alpha-secret',
        'ps -eo args | grep -c "[s]leep 4242"',
        `test -e ${JSON.stringify(dir)} && echo sees-hangar-files || echo no-hangar-files`,
        'env | grep -c HANGAR_',
        `(echo > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo reaches-hangar || echo no-hangar-network`,
      ].join('; '),
    );
    expect(look.stdout.split('\n')).toEqual(['beta', '0', '0', 'no-hangar-files', '0', 'no-hangar-network', '']);
    // Root inside is not root outside: no mounts, no device nodes.
    const root = await client.ssh(`root@${b.ip}`, 'mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo refused; mknod /tmp/sda b 8 0 2>/dev/null && echo made || echo refused');
    expect(root.stdout).toBe('refused\nrefused\n');
  });

  it("runs its processes unprivileged on the host: root inside is an unprivileged uid outside, and owns the instance's files", async () => {
    const script = [
      '#!/bin/sh',
      'echo "script as $(id -u)"',
      'echo conf > /etc/apt-like.conf; mkdir -p /var/lib/apt-like; echo state > /var/lib/apt-like/state; echo mine > /root/by-script',
      'mount -t tmpfs none /srv 2>/dev/null && echo mounted || echo no-mounts',
      '',
    ].join('\n');
    const { id, ip } = await machine(h.genesis, { hostname: 'unprivileged', metadata: { startup_script: script } });
    const log = await eventually(
      () => client.ssh(`root@${ip}`, 'cat /var/log/startup-script.log'),
      (r) => r.code === 0 && /mounted|no-mounts/.test(r.stdout),
    );
    expect(log.stdout).toBe('script as 0\nno-mounts\n');
    const inside = await client.ssh(`root@${ip}`, 'id -u; cat /etc/apt-like.conf /var/lib/apt-like/state /root/by-script; stat -c %u /etc /root /root/by-script; nohup sleep 4343 >/dev/null 2>&1 & echo ok');
    expect(inside.stdout).toBe('0\nconf\nstate\nmine\n0\n0\n0\nok\n');
    expect((await client.ssh(`ubuntu@${ip}`, 'touch ~/by-ubuntu && id -u')).stdout).toBe('1000\n');

    // The host sees other uids: root's sleep runs as the instance's root, an unprivileged uid.
    const sleeper = await hostPid('sleep\u00004343\u0000');
    const hostUid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${sleeper}/status`, 'utf8'))![1]);
    expect(hostUid).toBeGreaterThan(0);
    const fs = join(dir, 'files', 'instances', id, 'fs');
    expect(statSync(join(fs, 'root', 'by-script')).uid).toBe(hostUid);
    expect(statSync(join(fs, 'etc', 'apt-like.conf')).uid).toBe(hostUid);
    expect(statSync(join(fs, 'home', 'ubuntu', 'by-ubuntu')).uid).toBe(hostUid + 1000);
    expect(h.hangar.banner().some((line) => line.includes('user namespace'))).toBe(true);
  });

  it("limits an instance's processes to its type's memory and a number of processes, where the host has cgroups", async () => {
    const host = findCgroups();
    if (host === null) {
      expect(h.hangar.banner().some((line) => line.includes('without memory and process limits'))).toBe(true);
      return;
    }
    const { id, ip } = await machine(h.genesis, { hostname: 'limited' });
    expect((await client.ssh(`ubuntu@${ip}`, 'nohup sleep 4545 >/dev/null 2>&1 & echo ok')).stdout).toBe('ok\n');
    const sleeper = await hostPid('sleep\u00004545\u0000');
    const groups = readFileSync(`/proc/${sleeper}/cgroup`, 'utf8');
    const dirs = host.parents.map((parent) => join(parent, id));
    if (host.version === 1) {
      expect(groups).toMatch(new RegExp(`:memory:.*/hangar-sandbox/${id}\n`));
      expect(groups).toMatch(new RegExp(`:pids:.*/hangar-sandbox/${id}\n`));
      // CPU_TYPE is vcpu-2_memory-4g: 4 GiB, and 4,096 processes (the floor).
      expect(readFileSync(join(dirs[0]!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(4 * 1024 ** 3));
      expect(readFileSync(join(dirs[1]!, 'pids.max'), 'utf8').trim()).toBe('4096');
      expect(readFileSync(join(dirs[1]!, 'cgroup.procs'), 'utf8').split('\n')).toContain(sleeper);
    } else {
      expect(groups).toContain(`/hangar-sandbox/${id}\n`);
      expect(readFileSync(join(dirs[0]!, 'memory.max'), 'utf8').trim()).toBe(String(4 * 1024 ** 3));
      expect(readFileSync(join(dirs[0]!, 'pids.max'), 'utf8').trim()).toBe('4096');
    }
    // A stop ends the processes and removes the groups.
    expect((await h.genesis.post(`/instances/${id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(BOOT_MS);
    await h.hangar.fabric.settled();
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
  });

  it('runs a #cloud-config document (write_files, runcmd, bootcmd); a failing script fails nothing', async () => {
    const cloudConfig = [
      '#cloud-config',
      'packages: [htop]',
      'bootcmd:',
      '  - echo boot >> /var/log/boots.log',
      'write_files:',
      '  - path: /etc/app/config.txt',
      '    content: |',
      '      answer=42',
      '    permissions: "0600"',
      'runcmd:',
      '  - [sh, -c, "cat /etc/app/config.txt > /root/runcmd.out"]',
      '  - exit 3',
    ].join('\n');
    const { id, ip } = await machine(h.genesis, { hostname: 'configured', metadata: { startup_script: cloudConfig } });
    const out = await eventually(
      () => client.ssh(`root@${ip}`, 'cat /root/runcmd.out; stat -c %a /etc/app/config.txt; cat /var/log/boots.log; cat /var/log/startup-script.log'),
      (r) => r.stdout.startsWith('answer=42'),
    );
    expect(out.stdout).toMatch(/^answer=42\n600\nboot\n/);
    expect(out.stdout).toContain('cloud-config: skipped (not supported offline): packages');
    // A reset is a reboot: bootcmd runs again, runcmd does not.
    expect((await h.genesis.post(`/instances/${id}/actions`, { action: 'reset' })).status).toBe(204);
    await h.advance(2_000);
    await h.hangar.fabric.settled();
    const after = await eventually(
      () => client.ssh(`root@${ip}`, 'cat /var/log/boots.log; wc -l < /root/runcmd.out'),
      (r) => r.code === 0 && r.stdout.startsWith('boot\nboot\n'),
    );
    expect(after.stdout).toBe('boot\nboot\n1\n');
  });

  it("lets the default user in with the instance's password (Genesis `password`)", async () => {
    const created = await createInstance(h.genesis, { type: CPU_TYPE, hostname: 'with-password', password: 'correct-horse-battery-9' });
    await h.advance(BOOT_MS);
    await h.hangar.fabric.settled();
    const ip = (await h.genesis.get(`/instances/${created.id}`)).body.instance.public_ip;
    // The stock client reads the password from SSH_ASKPASS (no sshpass needed).
    const askpass = (password: string) => {
      const path = join(client.dir, `askpass-${password.length}`);
      writeFileSync(path, `#!/bin/sh\necho '${password}'\n`, { mode: 0o700 });
      return { SSH_ASKPASS: path, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    };
    const options = ['-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(client.dir, 'known_hosts_pw')}`, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', '-o', 'LogLevel=ERROR'];
    const good = await run('ssh', [...options, `ubuntu@${ip}`, 'id -un'], undefined, askpass('correct-horse-battery-9'));
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toBe('ubuntu\n');
    const bad = await run('ssh', [...options, `ubuntu@${ip}`, 'id -un'], undefined, askpass('wrong-password-000'));
    expect(bad.code).toBe(255);
  });

  it('mounts attached volumes at /mnt/<name>; their files follow the volume from instance to instance', async () => {
    const created = await h.genesis.post('/volumes', { name: 'datasets', size: 10, type: 'ssd', region: 'NORD-NO-KRS-1' });
    expect(created.status, created.text).toBe(201);
    const volumeId = created.body.volume.id;
    await h.advance(1_000);
    const a = await machine(h.genesis, { hostname: 'writer', volumes: [volumeId] });
    expect((await client.ssh(`ubuntu@${a.ip}`, 'echo rows > /mnt/datasets/train.csv && ls /mnt')).stdout).toBe('datasets\n');

    // Detached while running: gone from the instance at once (the fabric checks attachments).
    expect((await h.genesis.patch(`/instances/${a.id}`, { volumes: [] })).status).toBe(200);
    await h.hangar.fabric.resync();
    expect((await client.ssh(`ubuntu@${a.ip}`, 'ls /mnt; test -e /mnt/datasets/train.csv && echo still-there || echo gone')).stdout).toBe('gone\n');

    // Attached to another running instance of the account: the file is there.
    const b = await machine(h.genesis, { hostname: 'reader' });
    expect((await h.genesis.patch(`/instances/${b.id}`, { volumes: [volumeId] })).status).toBe(200);
    await h.hangar.fabric.resync();
    expect((await client.ssh(`ubuntu@${b.ip}`, 'cat /mnt/datasets/train.csv')).stdout).toBe('rows\n');

    // Destroying the instance leaves the volume's files; deleting the volume removes them.
    expect((await h.genesis.delete(`/instances/${b.id}`)).status).toBe(204);
    await h.advance(2_000);
    await h.hangar.fabric.settled();
    const files = join(dir, 'files', 'volumes', volumeId);
    expect(readFileSync(join(files, 'train.csv'), 'utf8')).toBe('rows\n');
    expect((await h.genesis.delete(`/volumes/${volumeId}`)).status).toBe(204);
    await h.advance(1_000);
    await h.hangar.fabric.settled();
    expect(existsSync(files)).toBe(false);
  });

  it('brings running instances back after a Hangar restart, with their files', async () => {
    const env = { ...sandboxEnv(join(dir, 'restart-files')), HANGAR_DATABASE_URL: `sqlite:${join(dir, 'restart.db')}` };
    const first = await startHangar({ env });
    let ip: string;
    try {
      const key = await createKey(first.genesis, 'k', client.publicKey);
      const created = await createInstance(first.genesis, { type: CPU_TYPE, hostname: 'survivor', ssh_keys: [key.id] });
      await first.advance(BOOT_MS);
      await first.hangar.fabric.settled();
      ip = (await first.genesis.get(`/instances/${created.id}`)).body.instance.public_ip;
      expect((await client.ssh(`ubuntu@${ip}`, 'echo kept > note.txt && echo ok')).stdout).toBe('ok\n');
    } finally {
      await first.close();
    }
    expect((await client.ssh(`ubuntu@${ip}`, 'true')).code).toBe(255);
    const second = await startHangar({ env, clock: new Clock({ frozenAt: T0 + 60_000 }) });
    try {
      const back = await client.ssh(`ubuntu@${ip}`, 'hostname; cat note.txt');
      expect(back.stdout).toBe('survivor\nkept\n');
    } finally {
      await second.close();
    }
  });
});

/**
 * The host pid of the process whose command line is `cmdline` (NUL-separated). A command
 * started in the background may not have replaced its shell yet when the SSH session that
 * started it returns: looked for again until it has (up to 30 s).
 */
async function hostPid(cmdline: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pid = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .find((entry) => {
        try {
          return readFileSync(`/proc/${entry}/cmdline`, 'utf8') === cmdline;
        } catch {
          return false;
        }
      });
    if (pid !== undefined || Date.now() > deadline) {
      expect(pid, `a process running ${cmdline.replaceAll('\0', ' ')}`).toBeDefined();
      return pid!;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function get(url: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}
