import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, lchown, lstat, rm, rmdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../kernel/kernel.js';
import { INSTANCE_CAPS, type HostInfo } from './host.js';
import { makeUserNamespace, shiftOwners } from './idmap.js';
import { inCgroups, InstanceCgroup } from './cgroups.js';
import { nvidiaSmi, type GpuSpec } from './nvidia-smi.js';
import { BOOT_DIR, initScript, type BootScripts } from './scripts.js';

/** What the fabric needs to know of a running instance, whichever cloud it belongs to. */
export interface MachineSpec {
  id: string;
  accountId: string;
  hostname: string;
  /** Where SSH answers; null: not reachable (no public address). */
  publicIp: string | null;
  /** The image's default user (`ubuntu` on Ubuntu images); `root` is always there too. */
  defaultUser: string;
  authorizedKeys: string[];
  /** A password for the default user (Genesis' `password`), or null: keys only. */
  password: string | null;
  scripts: BootScripts;
  gpus: GpuSpec | null;
  /** Volumes and data disks attached: each a directory of the host (per volume id) at /mnt/<path>. */
  volumes: AttachedVolume[];
  /** What the instance's processes may use together, from its type (null: unknown type, no limits). */
  limits: Limits | null;
}

export interface Limits {
  memoryBytes: number;
  pids: number;
}

/** An instance type's limits: its memory, and 1,024 processes per vCPU (at least 4,096). */
export function limitsOf(vcpus: number, memoryGib: number): Limits {
  return { memoryBytes: memoryGib * 1024 ** 3, pids: Math.max(4096, 1024 * vcpus) };
}

export interface AttachedVolume {
  /** The volume's id: its files are the fabric's `volumes/<id>`, whichever instance it is attached to. */
  id: string;
  /** Where it appears, under /mnt (`data`, `disks/scratch`). */
  path: string;
}

/** A volume's name as a directory name. */
export function mountName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 100) || 'volume';
}

/** The directories of an instance that persist (everything else is the host's /usr, read-only, or per boot). */
const PERSISTED = ['etc', 'var', 'tmp', 'home', 'root', 'opt', 'srv', 'mnt'];
/** Host /etc entries an instance starts with: what programs need to run, no secrets. */
const HOST_ETC = [
  'alternatives', 'bash.bashrc', 'bash_completion.d', 'ca-certificates', 'ca-certificates.conf', 'debian_version', 'environment', 'gai.conf',
  'host.conf', 'inputrc', 'issue', 'issue.net', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'locale.alias', 'localtime', 'login.defs',
  'mime.types', 'networks', 'nsswitch.conf', 'os-release', 'profile', 'profile.d', 'protocols', 'rpc', 'services', 'shells', 'skel', 'ssl',
  'terminfo', 'timezone', 'vim', 'ssh/moduli', 'ssh/ssh_config',
];
const UID = 1000;
/** Where instances' directories are bound for their sandboxes' set-up when it runs in a user namespace. */
const DOORWAYS = '/run/hangar-sandbox';
/** A clean environment for the programs Hangar starts: nothing of Hangar's own (secrets) leaks in. */
const CLEAN_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };

function sshdConfig(sftpServer: string, passwords: boolean): string {
  return [
    '# Written by Hangar at every boot.',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${passwords ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'AcceptEnv LANG LC_*',
    `Subsystem sftp ${sftpServer}`,
    '',
  ].join('\n');
}

/**
 * One instance's machine: its files under `dir` (fs/ persisted, boot/ rewritten at every boot),
 * a bubblewrap sandbox (own hostname, process tree, IPC and network; host /usr read-only) whose
 * first process is Hangar's init, and a listener on the public address: each connection gets
 * its own OpenSSH `sshd -i` inside the sandbox's namespaces, with capabilities bounded.
 */
export class Environment {
  private sandbox: { process: ChildProcess; pid: number; exited: Promise<void> } | null = null;
  private server: Server | null = null;
  private sessions = new Set<ChildProcess>();
  /** The instance's control groups (where the host has them), and the files a process enters them by. */
  private readonly cgroup: InstanceCgroup | null;
  private cgroupProcs: string[] = [];

  constructor(
    readonly id: string,
    readonly dir: string,
    private readonly host: HostInfo,
    private readonly log: Logger,
  ) {
    this.cgroup = host.cgroups ? new InstanceCgroup(host.cgroups, id) : null;
  }

  get running(): boolean {
    return this.sandbox !== null;
  }

  get fs(): string {
    return join(this.dir, 'fs');
  }

  /** Boots the instance (prepares its files on the first boot) and opens SSH on its public address. */
  async boot(spec: MachineSpec, devices: string[] = []): Promise<void> {
    if (this.sandbox) return;
    await this.prepare(spec);
    this.writeBoot(spec, devices.length === 0);
    await this.giveToInstance();
    await this.shareMnt();
    await this.syncVolumes(spec.volumes);
    const idmap = this.host.idmap;
    // With a user namespace the sandbox is set up by the instance's root (an unprivileged uid
    // of the host), which reaches the instance's files through a doorway of its own.
    const userns = idmap ? await makeUserNamespace(this.host.tools.unshare!, idmap) : null;
    try {
      await this.start(spec, devices, userns?.path ?? null);
    } finally {
      userns?.release();
    }
    if (spec.publicIp !== null) await this.listen(spec.publicIp);
  }

  /** Starts the sandbox (in the user namespace at `userns`, if any) and waits for its init. */
  private async start(spec: MachineSpec, devices: string[], userns: string | null): Promise<void> {
    const root = userns === null ? this.dir : await this.openDoorway();
    const args = this.bwrapArgs(spec, devices, root);
    const [bare, bareArgs] = userns === null ? [this.host.tools.bwrap!, args] : [this.host.tools.nsenter!, [`--user=${userns}`, '--', this.host.tools.bwrap!, ...args]];
    this.cgroupProcs = this.cgroup && spec.limits ? await this.cgroup.create(spec.limits) : [];
    const [command, argv] = inCgroups(this.cgroupProcs, bare, bareArgs);
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: CLEAN_ENV });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = await new Promise<number>((resolve, reject) => {
      let info = '';
      const info$ = child.stdio[3] as NodeJS.ReadableStream;
      info$.on('data', (chunk: Buffer) => {
        info += chunk.toString();
        const match = /"child-pid":\s*(\d+)/.exec(info);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`bubblewrap exited (${code}) before the instance booted: ${stderr.trim()}`)));
      child.once('error', reject);
    });
    // bubblewrap tells the pid before the sandbox is set up: it is ready once its init runs.
    await this.initRunning(pid, exited);
    this.sandbox = { process: child, pid, exited };
    void exited.then(() => {
      if (this.sandbox?.process === child) {
        this.sandbox = null;
        this.closeServer();
        if (stderr.trim() !== '') this.log.warn({ instance: this.id, stderr: stderr.trim() }, 'sandbox ended');
      }
    });
  }

  /**
   * Where the instance's root sets its sandbox up from: the instance's directory bound at
   * /run/hangar-sandbox/<id> (the store's own directories may be closed to every uid but
   * Hangar's), owned by the instance's root and closed to every other uid of the host.
   */
  private async openDoorway(): Promise<string> {
    const doorway = this.doorway;
    mkdirSync(DOORWAYS, { recursive: true, mode: 0o711 });
    chmodSync(DOORWAYS, 0o711);
    mkdirSync(doorway, { recursive: true, mode: 0o700 });
    const base = this.host.idmap!.base;
    await chown(this.dir, base, base);
    await chmod(this.dir, 0o700);
    if (!mountsUnder(doorway).includes(doorway)) {
      if (!(await run('mount', ['--rbind', this.dir, doorway]))) throw new Error(`instance ${this.id}: cannot bind its files at ${doorway}`);
    }
    return doorway;
  }

  private get doorway(): string {
    return join(DOORWAYS, this.id);
  }

  /**
   * With a user namespace, the instance's files belong to its ids as the host sees them: the
   * whole tree once (made by Hangar as host root, or by a Hangar that mapped no ids), then at
   * every boot what Hangar writes again (boot files, hostname, sshd_config).
   */
  private async giveToInstance(): Promise<void> {
    const idmap = this.host.idmap;
    if (!idmap) return;
    const fs = this.fs;
    const owner = (await lstat(fs)).uid;
    if (owner !== idmap.base) {
      const mounts = new Set(mountsUnder(fs).filter((path) => path !== fs));
      await shiftOwners(fs, owner, idmap.base, idmap.size, mounts);
    }
    await shiftOwners(join(this.dir, 'boot'), 0, idmap.base, idmap.size);
    const rewritten = [...PERSISTED.map((name) => join(fs, name)), ...['hostname', 'hosts', 'ssh', 'ssh/sshd_config'].map((name) => join(fs, 'etc', name))];
    for (const path of rewritten) {
      const stat = await lstat(path).catch(() => null);
      if (stat && stat.uid < idmap.size) await lchown(path, stat.uid + idmap.base, stat.gid < idmap.size ? stat.gid + idmap.base : stat.gid);
    }
  }

  /**
   * Stops the instance: SSH refuses at once, the shutdown script (if any) runs with up to
   * `timeoutMs` to finish, then every process of the instance ends. `graceful: false` skips
   * the script (Hangar itself is stopping; the instance comes back at the next start).
   */
  async halt(graceful: boolean, timeoutMs: number): Promise<void> {
    this.closeServer();
    const sandbox = this.sandbox;
    if (!sandbox) return;
    if (graceful) {
      const init = this.initPid(sandbox.pid);
      if (init !== null) {
        try {
          process.kill(init, 'SIGTERM');
        } catch {
          // already gone
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([sandbox.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(timer);
      }
    }
    // The sandbox's first process is its pid namespace's init: when it goes, everything goes.
    for (const pid of [sandbox.pid, sandbox.process.pid]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sandbox.exited;
    for (const session of this.sessions) session.kill('SIGKILL');
    if (this.sandbox === sandbox) this.sandbox = null;
    await this.releaseMounts();
    await this.cgroup?.remove();
  }

  /** Removes the instance's files (it must be halted). */
  async remove(): Promise<void> {
    await this.releaseMounts();
    await this.cgroup?.remove();
    // Never through a volume's files: nothing may be mounted under the instance any more.
    if (mountsUnder(this.dir).length > 0) throw new Error(`instance ${this.id}: volumes are still mounted under ${this.dir}; its files are kept`);
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * The instance's /mnt as a shared mount on the host: bind mounts made under it later (a
   * volume attached while the instance runs) propagate into the sandbox, whose mounts are
   * its slaves; unmounts too.
   */
  private async shareMnt(): Promise<void> {
    const mnt = join(this.fs, 'mnt');
    if (!mountsUnder(mnt).includes(mnt)) {
      if (!(await run('mount', ['--bind', mnt, mnt]))) throw new Error(`instance ${this.id}: cannot bind-mount ${mnt}`);
    }
    await run('mount', ['--make-shared', mnt]);
  }

  /** Attaches and detaches volumes so that exactly `wanted` are mounted (volumes/<id> at /mnt/<path>). */
  async syncVolumes(wanted: readonly AttachedVolume[]): Promise<void> {
    const mnt = join(this.fs, 'mnt');
    const targets = new Map(wanted.map((v) => [join(mnt, v.path), v]));
    const mounted = mountsUnder(mnt).filter((path) => path !== mnt);
    for (const path of mounted.sort().reverse()) {
      if (!targets.has(path)) {
        await run('umount', ['-l', path]);
        await rmdir(path).catch(() => undefined);
      }
    }
    for (const [target, volume] of targets) {
      if (mounted.includes(target)) continue;
      const source = join(this.volumesDir, volume.id);
      mkdirSync(source, { recursive: true });
      const idmap = this.host.idmap;
      if (idmap) {
        // (a volume of a Hangar that mapped no ids moves into the range too, once)
        const owner = (await lstat(source)).uid;
        if (owner !== idmap.base) await shiftOwners(source, owner, idmap.base, idmap.size);
      }
      chmodSync(source, 0o1777);
      mkdirSync(target, { recursive: true });
      if (!(await run('mount', ['--bind', source, target]))) this.log.warn({ instance: this.id, volume: volume.id }, 'could not mount a volume');
    }
  }

  /** Where volumes' files live: beside the instances' directories. */
  private get volumesDir(): string {
    return join(this.dir, '..', '..', 'volumes');
  }

  /** Unmounts the instance's doorway, its volumes and its shared /mnt on the host. */
  private async releaseMounts(): Promise<void> {
    if (mountsUnder(this.doorway).length > 0) await run('umount', ['-l', this.doorway]);
    await rmdir(this.doorway).catch(() => undefined);
    const mnt = join(this.fs, 'mnt');
    for (const path of mountsUnder(mnt).sort().reverse()) await run('umount', ['-l', path]);
  }

  /** Waits until the sandbox's init has started (its mounts are then in place). */
  private async initRunning(pid: number, exited: Promise<void>): Promise<void> {
    let gone = false;
    void exited.then(() => (gone = true));
    for (;;) {
      const init = this.initPid(pid);
      if (init !== null) {
        try {
          if (readFileSync(`/proc/${init}/cmdline`, 'utf8').includes(`${BOOT_DIR}/init`)) return;
        } catch {
          // not yet
        }
      }
      if (gone) throw new Error(`the sandbox of instance ${this.id} ended while booting`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** The host pid of Hangar's init inside the sandbox (the sandbox's first process's child). */
  private initPid(pid: number): number | null {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length > 0 ? Number(children[0]) : null;
    } catch {
      return null;
    }
  }

  private listen(address: string): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (socket) => this.session(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (error) => {
        this.server = null;
        reject(new Error(`SSH for instance ${this.id} cannot listen on ${address}:${this.host.sshPort}: ${error.message}`));
      });
      server.listen({ host: address, port: this.host.sshPort, exclusive: true }, () => {
        server.on('error', (error) => this.log.warn({ instance: this.id, err: error }, 'SSH listener failed'));
        resolve();
      });
    });
  }

  private closeServer(): void {
    this.server?.close();
    this.server = null;
  }

  /** One SSH connection: OpenSSH's server in inetd mode, inside the instance, speaking on the socket. */
  private session(socket: Socket): void {
    // (a client that hangs up early must not take Hangar down with an unhandled error)
    socket.on('error', () => undefined);
    const sandbox = this.sandbox;
    if (!sandbox) {
      socket.destroy();
      return;
    }
    const args = [
      '-t', String(sandbox.pid), ...(this.host.idmap ? ['-U'] : []), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--',
      this.host.tools.setpriv!, `--bounding-set=-all,${INSTANCE_CAPS.map((c) => `+${c}`).join(',')}`, '--',
      this.host.tools.sshd!, '-i', '-e', '-f', '/etc/ssh/sshd_config',
    ];
    const child = spawn(...inCgroups(this.cgroupProcs, this.host.tools.nsenter!, args), { stdio: [socket, socket, 'pipe'], env: CLEAN_ENV });
    this.sessions.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once('spawn', () => socket.destroy());
    child.once('error', (error) => {
      socket.destroy();
      this.log.warn({ instance: this.id, err: error }, 'SSH session could not start');
    });
    child.once('exit', () => {
      this.sessions.delete(child);
      if (stderr.trim() !== '') this.log.info({ instance: this.id, sshd: stderr.trim().split('\n').slice(-5) }, 'SSH session ended');
    });
  }

  /** The instance's persisted files: created on the first boot, kept across stop/start and restarts. */
  private async prepare(spec: MachineSpec): Promise<void> {
    const fs = this.fs;
    const first = !existsSync(join(fs, 'etc', 'passwd'));
    for (const name of PERSISTED) mkdirSync(join(fs, name), { recursive: true, mode: 0o755 });
    chmodSync(join(fs, 'tmp'), 0o1777);
    chmodSync(join(fs, 'root'), 0o700);
    mkdirSync(join(this.dir, 'boot'), { recursive: true, mode: 0o755 });
    if (first) {
      // (child processes, not the synchronous file calls: Hangar keeps answering while machines boot)
      const entries = HOST_ETC.filter((entry) => existsSync(join('/etc', entry)));
      const copied = await run('cp', ['-a', '--parents', ...entries, join(fs, 'etc')], '/etc');
      if (!copied) this.log.warn({ instance: this.id }, 'could not copy every /etc entry into the instance');
      const user = spec.defaultUser;
      const users = user === 'root' ? '' : `${user}:x:${UID}:${UID}:${user}:/home/${user}:/bin/bash\n`;
      writeFileSync(
        join(fs, 'etc', 'passwd'),
        'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n' +
          'sys:x:3:3:sys:/dev:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' +
          users,
      );
      const member = user === 'root' ? '' : user;
      writeFileSync(
        join(fs, 'etc', 'group'),
        `root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:${member}\ntty:x:5:\ndisk:x:6:\nsudo:x:27:${member}\nvideo:x:44:${member}\nusers:x:100:\nnogroup:x:65534:\n` +
          (member ? `${user}:x:${UID}:\n` : ''),
      );
      const hash = spec.password !== null && member ? await passwordHash(spec.password) : '*';
      const shadow = ['root', 'daemon', 'bin', 'sys', 'sshd', 'nobody', ...(member ? [user] : [])].map((u) => `${u}:${u === user ? hash : '*'}:20000:0:99999:7:::\n`);
      writeFileSync(join(fs, 'etc', 'shadow'), shadow.join(''), { mode: 0o640 });
      writeFileSync(join(fs, 'etc', 'resolv.conf'), '# no network outside the instance\n');
      if (existsSync('/usr/bin/sudo')) {
        writeFileSync(join(fs, 'etc', 'sudoers'), 'Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) NOPASSWD:ALL\n', { mode: 0o440 });
      }
      mkdirSync(join(fs, 'etc', 'ssh'), { recursive: true });
      for (const link of [['var/run', '/run'], ['var/lock', '/run/lock']]) {
        if (!existsSync(join(fs, link[0]!))) symlinkSync(link[1]!, join(fs, link[0]!));
      }
      mkdirSync(join(fs, 'var', 'log'), { recursive: true });
      mkdirSync(join(fs, 'var', 'lib', 'hangar'), { recursive: true });
      // The instance's host key: made once, so it stays the same for the instance's life.
      const key = join(fs, 'etc', 'ssh', 'ssh_host_ed25519_key');
      const made = await run(this.host.tools['ssh-keygen']!, ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${spec.hostname}`, '-f', key]);
      if (!made) throw new Error(`ssh-keygen could not make a host key for instance ${this.id}`);
      // Keys go in once, as cloud-init puts them: what the user changes later is theirs.
      const homes: [string, number][] = [['root', 0]];
      if (member) {
        mkdirSync(join(fs, 'home', user), { recursive: true, mode: 0o755 });
        await run('cp', ['-a', '/etc/skel/.', join(fs, 'home', user)]);
        homes.push([join('home', user), UID]);
      }
      for (const [home, uid] of homes) {
        const ssh = join(fs, home, '.ssh');
        mkdirSync(ssh, { recursive: true, mode: 0o700 });
        writeFileSync(join(ssh, 'authorized_keys'), spec.authorizedKeys.map((k) => `${k.trim()}\n`).join(''), { mode: 0o600 });
        await run('chown', ['-R', `${uid}:${uid}`, join(fs, home)]);
      }
    }
    writeFileSync(join(fs, 'etc', 'hostname'), `${spec.hostname}\n`);
    writeFileSync(join(fs, 'etc', 'hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${spec.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
    writeFileSync(join(fs, 'etc', 'ssh', 'sshd_config'), sshdConfig(this.host.tools['sftp-server']!, spec.password !== null));
  }

  /** The boot files (mounted read-only at /run/hangar): init, scripts, the nvidia-smi stand-in. */
  private writeBoot(spec: MachineSpec, fakeGpus: boolean): void {
    const boot = join(this.dir, 'boot');
    const files: [string, string | null][] = [
      ['init', initScript(spec.scripts)],
      ['first-boot', spec.scripts.firstBoot],
      ['every-boot', spec.scripts.everyBoot],
      ['shutdown', spec.scripts.shutdown],
      ['nvidia-smi', spec.gpus !== null && fakeGpus ? nvidiaSmi(spec.id, spec.gpus) : null],
    ];
    for (const [name, content] of files) {
      const path = join(boot, name);
      if (content === null) rmSync(path, { force: true });
      else writeFileSync(path, content, { mode: 0o700 });
      if (content !== null) chmodSync(path, name === 'nvidia-smi' ? 0o755 : 0o700);
    }
  }

  /** The sandbox of the instance whose directory is (or is bound at) `root`. */
  private bwrapArgs(spec: MachineSpec, devices: string[], root: string): string[] {
    const fs = join(root, 'fs');
    const args = [
      '--die-with-parent', '--unshare-pid', '--unshare-uts', '--unshare-ipc', '--unshare-net', '--unshare-cgroup-try',
      '--hostname', spec.hostname,
      '--ro-bind', '/usr', '/usr',
      '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin', '--symlink', 'usr/lib', '/lib',
    ];
    if (existsSync('/usr/lib64')) args.push('--symlink', 'usr/lib64', '/lib64');
    args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/run', '--dir', '/run/sshd', '--dir', '/run/lock');
    for (const name of PERSISTED) args.push('--bind', join(fs, name), `/${name}`);
    args.push('--ro-bind', join(root, 'boot'), BOOT_DIR);
    if (spec.gpus !== null && devices.length === 0) {
      // On every user's PATH (login shells' too): /usr/local/bin, made writable-in-memory over
      // the host's read-only one, whose entries are bound back in.
      args.push('--tmpfs', '/usr/local/bin');
      for (const entry of hostLocalBin()) if (entry !== 'nvidia-smi') args.push('--ro-bind', `/usr/local/bin/${entry}`, `/usr/local/bin/${entry}`);
      args.push('--ro-bind', join(root, 'boot', 'nvidia-smi'), '/usr/local/bin/nvidia-smi');
    }
    for (const device of devices) args.push('--dev-bind', device, device);
    // (as root of a user namespace bwrap would keep every capability: only these stay)
    args.push('--cap-drop', 'ALL');
    for (const cap of INSTANCE_CAPS) args.push('--cap-add', `CAP_${cap.toUpperCase()}`);
    args.push('--setenv', 'PATH', CLEAN_ENV.PATH, '--setenv', 'HOME', '/root', '--info-fd', '3', '--', '/bin/sh', `${BOOT_DIR}/init`);
    return args;
  }
}

/** The host's /usr/local/bin entries (read once: a Hangar's host does not change under it). */
let localBin: string[] | undefined;
function hostLocalBin(): string[] {
  try {
    localBin ??= readdirSync('/usr/local/bin');
  } catch {
    localBin = [];
  }
  return localBin;
}

/** Mount points at or under `dir` on the host, from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (point === dir || point.startsWith(`${dir}/`)) points.push(point);
  }
  return [...new Set(points)];
}

const execFileAsync = promisify(execFile);

/** A password as /etc/shadow keeps it (SHA-512 crypt, by OpenSSL). */
function passwordHash(password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['passwd', '-6', '-stdin'], { env: CLEAN_ENV }, (error, stdout) => {
      if (error) reject(new Error(`openssl passwd: ${error.message}`));
      else resolve(stdout.trim());
    });
    child.stdin!.end(`${password}\n`);
  });
}
/** Runs a program to its end; whether it succeeded. */
async function run(command: string, args: string[], cwd?: string): Promise<boolean> {
  try {
    await execFileAsync(command, args, { env: CLEAN_ENV, cwd });
    return true;
  } catch {
    return false;
  }
}
