import { parse } from 'yaml';

/**
 * What runs inside an instance besides SSH: its init (boot scripts, then wait for the stop
 * signal, then the shutdown script) and the conversion of a `#cloud-config` document into the
 * shell the offline subset comes down to.
 */

/** A value quoted for POSIX sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What boots: scripts run as root, their output appended to /var/log/startup-script.log. */
export interface BootScripts {
  /** Runs once, after the first boot (Genesis' startup script, cloud-config's write_files and runcmd). */
  firstBoot: string | null;
  /** Runs at every boot (Crusoe's startup script, cloud-config's bootcmd). */
  everyBoot: string | null;
  /** Runs when the instance is stopped (Crusoe's shutdown script). */
  shutdown: string | null;
}

export const LOG = '/var/log/startup-script.log';
/** Where the boot files are mounted inside an instance (read-only). */
export const BOOT_DIR = '/run/hangar';

/**
 * The instance's init, run by the sandbox as its first process. Scripts run in the background
 * (SSH answers while they run, as on the clouds); a failing script fails nothing. On SIGTERM
 * (a stop) the shutdown script runs, then init exits and every process of the instance ends.
 */
export function initScript(scripts: BootScripts): string {
  const run = (name: string) => `if head -c 2 ${BOOT_DIR}/${name} | grep -q '^#!'; then ${BOOT_DIR}/${name}; else /bin/sh ${BOOT_DIR}/${name}; fi`;
  const lines = [
    '#!/bin/sh',
    '# Hangar sandbox init: boot scripts, then wait for the stop signal.',
    'cd /',
    'mkdir -p /var/lib/hangar /var/log',
    `touch ${LOG}`,
    'stopping=0',
    'sleeper=',
    'trap \'stopping=1; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null\' TERM',
    '(',
  ];
  if (scripts.everyBoot !== null) lines.push(`  ${run('every-boot')}`);
  if (scripts.firstBoot !== null) {
    lines.push('  if [ ! -e /var/lib/hangar/first-boot.done ]; then', '    touch /var/lib/hangar/first-boot.done', `    ${run('first-boot')}`, '  fi');
  }
  lines.push(
    '  true',
    `) >>${LOG} 2>&1 </dev/null &`,
    'while [ "$stopping" = 0 ]; do sleep 86400 & sleeper=$!; wait "$sleeper"; done',
  );
  if (scripts.shutdown !== null) lines.push(`(${run('shutdown')}) >>${LOG} 2>&1 </dev/null`);
  lines.push('exit 0', '');
  return lines.join('\n');
}

/** A cloud-config command: a string runs through sh, a list is the command's words. */
function command(entry: unknown): string {
  if (Array.isArray(entry)) return entry.map((word) => shellQuote(String(word))).join(' ');
  return `sh -c ${shellQuote(String(entry))}`;
}

const SUPPORTED = new Set(['runcmd', 'bootcmd', 'write_files']);

/**
 * A user-data document as boot scripts. A `#cloud-config` document keeps the subset that works
 * offline: `bootcmd` (every boot), `write_files` and `runcmd` (first boot, in that order);
 * other keys are named in the log as skipped. Anything else is a script run once.
 */
export function userData(document: string | null): Pick<BootScripts, 'firstBoot' | 'everyBoot'> {
  if (document === null || document.trim() === '') return { firstBoot: null, everyBoot: null };
  if (!/^#cloud-config\s*(\n|$)/.test(document)) return { firstBoot: document, everyBoot: null };
  let config: Record<string, unknown>;
  try {
    const parsed: unknown = parse(document);
    config = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch (error) {
    return { firstBoot: `echo ${shellQuote(`cloud-config: not valid YAML, nothing run: ${(error as Error).message.split('\n')[0]}`)}\n`, everyBoot: null };
  }
  const first: string[] = ['#!/bin/sh'];
  const skipped = Object.keys(config).filter((key) => !SUPPORTED.has(key));
  if (skipped.length > 0) first.push(`echo ${shellQuote(`cloud-config: skipped (not supported offline): ${skipped.join(', ')}`)}`);
  for (const file of Array.isArray(config.write_files) ? config.write_files : []) {
    if (file === null || typeof file !== 'object' || typeof (file as any).path !== 'string') continue;
    const { path, content = '', permissions, owner, encoding, append } = file as Record<string, unknown>;
    const p = shellQuote(String(path));
    const base64 = typeof encoding === 'string' && /^(b64|base64)$/i.test(encoding);
    const bytes = base64 ? Buffer.from(String(content), 'base64') : Buffer.from(String(content), 'utf8');
    first.push(`mkdir -p "$(dirname ${p})"`);
    first.push(`printf %s ${shellQuote(bytes.toString('base64'))} | base64 -d ${append === true ? '>>' : '>'} ${p}`);
    if (typeof permissions === 'string' && /^0?[0-7]{3,4}$/.test(permissions)) first.push(`chmod ${permissions} ${p}`);
    if (typeof owner === 'string' && /^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/i.test(owner)) first.push(`chown ${owner} ${p}`);
  }
  for (const entry of Array.isArray(config.runcmd) ? config.runcmd : []) first.push(command(entry));
  const boot = Array.isArray(config.bootcmd) ? config.bootcmd.map(command) : [];
  return { firstBoot: first.length > 1 ? `${first.join('\n')}\n` : null, everyBoot: boot.length > 0 ? `#!/bin/sh\n${boot.join('\n')}\n` : null };
}
