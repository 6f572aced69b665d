import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';

/**
 * The stock OpenSSH client against sandbox instances: a key pair and known_hosts of the test's
 * own, strict host key checking after the first connection.
 */
export class SshClient {
  readonly dir = mkdtempSync(join(tmpdir(), 'hangar-ssh-'));
  readonly key = join(this.dir, 'id_ed25519');
  readonly publicKey: string;

  constructor(readonly port = 22) {
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tester@hangar', '-f', this.key]);
    if (made.status !== 0) throw new Error(`ssh-keygen: ${made.stderr}`);
    this.publicKey = readFileSync(`${this.key}.pub`, 'utf8').trim();
  }

  options(): string[] {
    return [
      '-i', this.key, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=accept-new',
      '-o', `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`, '-o', 'ConnectTimeout=30', '-o', 'LogLevel=ERROR',
    ];
  }

  /** Runs `command` through `ssh user@host`. */
  ssh(target: string, command: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    return run('ssh', [...this.options(), '-p', String(this.port), ...extra, target, command]);
  }

  scp(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run('scp', [...this.options(), '-P', String(this.port), ...args]);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function run(command: string, args: string[], input?: string, env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // (a program that exits at once, ssh refused say, closes its stdin before it is written)
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Whether this host can run the sandbox fabric (root, bubblewrap and OpenSSH), and why not. */
export function sandboxUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const path of ['/usr/bin/bwrap', '/usr/sbin/sshd', '/usr/bin/ssh', '/usr/lib/openssh/sftp-server']) if (!existsSync(path)) return `${path} is missing`;
  return null;
}

/** Sandbox settings for a test Hangar: a files directory and a loopback range of its own (test files run side by side). */
export function sandboxEnv(dir: string): Record<string, string> {
  return {
    HANGAR_FABRIC: 'sandbox',
    HANGAR_SANDBOX_DIR: dir,
    HANGAR_SANDBOX_PUBLIC_CIDR: `127.${randomInt(100, 200)}.${16 * randomInt(0, 16)}.0/20`,
    HANGAR_SANDBOX_STOP_TIMEOUT: '20s',
  };
}

/** Asks again until `check` passes on what `probe` gives (a script still running, say); the test's own time limit bounds it. */
export async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
