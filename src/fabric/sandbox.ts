import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { GenesisCatalog } from '../clouds/genesis/catalog.js';
import type { AppliedTransition } from '../kernel/lifecycle/engine.js';
import type { Kernel, Logger } from '../kernel/kernel.js';
import { rm } from 'node:fs/promises';
import { Environment, type MachineSpec } from './environment.js';
import { genesisSource } from './genesis.js';
import { crusoeSource } from './crusoe.js';
import { CrusoeCatalog } from '../clouds/crusoe/catalog.js';
import { GpuDevices } from './gpus.js';
import { inspectHost, type HostInfo } from './host.js';
import type { Fabric } from './index.js';

/** The store role of the process that runs the machines. */
const ROLE = 'sandbox-fabric';

/** How often running machines are checked against the store besides lifecycle events (volumes attached to a running instance). */
const POLL_MS = 5_000;

/** Where a cloud's resources of one kind come from, as machines. */
export interface MachineSource {
  /** The lifecycle kind whose transitions move these machines. */
  kind: string;
  /** Transitions that reboot a running machine (a reset). */
  rebootTransitions: readonly string[];
  /** The machines an applied transition moved (without it: the transition's own resource). */
  machinesOf?(applied: AppliedTransition): Promise<string[]>;
  /** Volumes: the lifecycle kind that deletes them, and which ones a transition deleted (their files go). */
  volumeKind?: { kind: string; deleted(applied: AppliedTransition): Promise<string[]> };
  /** The ids of the resources that should be running now. */
  running(): Promise<string[]>;
  /** The resource as a machine and whether it should run; null when it is gone. */
  load(id: string): Promise<{ running: boolean; spec: MachineSpec } | null>;
}

/**
 * The sandbox fabric: a reconciler that keeps, for every resource its sources know, a machine
 * (see environment.ts) in the state its row says: running → booted with SSH open; anything
 * else → halted (after its shutdown script); gone → halted and its files removed. It acts on
 * the lifecycle engine's applied transitions and, at start-up, on every running resource, so
 * a Hangar restart brings running instances' machines back. Work on one resource is done in
 * order; different resources proceed independently.
 */
export class SandboxFabric implements Fabric {
  readonly kind = 'sandbox' as const;
  get sshPort(): number {
    return this.host.sshPort;
  }
  private readonly environments = new Map<string, Environment>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Lifecycle events whose machines are being looked up. */
  private readonly lookups = new Set<Promise<void>>();
  private readonly sources = new Map<string, MachineSource>();
  /** The source each machine came from. */
  private readonly sourceOf = new Map<string, MachineSource>();
  private closed = false;
  private poll: NodeJS.Timeout | null = null;
  /** Whether this process runs the machines: with replicas on one PostgreSQL store exactly one does (see start). */
  private leading = false;
  private giveUp: (() => Promise<void>) | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  /** A notice to the leading replica is on its way (transitions this one applied). */
  private telling = false;

  private constructor(
    private readonly kernel: Kernel,
    private readonly log: Logger,
    private readonly host: HostInfo,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly gpus: GpuDevices,
    private readonly stopTimeoutMs: number,
    private readonly publicCidr: string,
  ) {}

  static async create(config: Config, kernel: Kernel, log: Logger): Promise<SandboxFabric> {
    const host = inspectHost(config.fabric.sshPort);
    let dir = config.fabric.dir;
    let ownsDir = false;
    if (dir === null) {
      const url = config.databaseUrl;
      const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : '';
      if (file === '' || file === ':memory:') {
        dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-'));
        ownsDir = true;
      } else dir = join(dirname(resolve(file)), 'sandbox');
    }
    mkdirSync(join(dir, 'instances'), { recursive: true, mode: 0o700 });
    const fabric = new SandboxFabric(kernel, log, host, resolve(dir), ownsDir, new GpuDevices(config.fabric.gpuDevices), config.fabric.stopTimeoutMs, config.fabric.publicCidr);
    fabric.addSource(genesisSource(kernel.db, GenesisCatalog.load(config.catalogs.genesis ?? undefined), (sealed) => kernel.secrets.open(sealed)));
    fabric.addSource(crusoeSource(kernel.db, CrusoeCatalog.load(config.catalogs.crusoe ?? undefined)));
    for (const note of host.notes) log.warn({ fabric: 'sandbox' }, note);
    return fabric;
  }

  addSource(source: MachineSource): void {
    this.sources.set(source.kind, source);
  }

  /**
   * Replicas on one PostgreSQL store would each run every machine: one process at a time holds
   * the store's `sandbox-fabric` role (a session advisory lock) and runs them; the others stay
   * passive (they tell it of the transitions they apply) and the next takes over, bringing the
   * running instances' machines up, when the holder goes away. On SQLite there is one process.
   */
  async start(): Promise<void> {
    this.kernel.lifecycle.onApplied((applied) => this.applied(applied));
    this.stopListening = await this.kernel.store.listen(ROLE, () => {
      if (this.leading) this.resyncSoon();
    });
    this.giveUp = await this.kernel.store.lead(ROLE, { gained: () => this.takeOver(), lost: () => this.standDown() });
  }

  /** This process runs the machines from now on: every running resource's comes up. */
  private async takeOver(): Promise<void> {
    if (this.closed) return;
    this.leading = true;
    this.log.info({ fabric: 'sandbox' }, 'sandbox: this process runs the machines');
    await this.resync();
    // Attaching a Genesis volume to a running instance is no lifecycle transition (nor does a
    // transition another replica applied always reach this one): running machines are checked
    // against the store every few seconds too.
    this.poll = setInterval(() => {
      if (this.queues.size === 0 && this.lookups.size === 0 && !this.closed) this.resyncSoon();
    }, POLL_MS);
    this.poll.unref();
  }

  /** This process no longer runs the machines (it is closing, or lost its session): they halt, for the next holder to bring up. */
  private async standDown(): Promise<void> {
    this.leading = false;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    await Promise.all([...this.queues.values(), ...this.lookups]);
    await Promise.all([...this.environments.values()].map((env) => env.halt(false, 0)));
    for (const id of this.environments.keys()) this.gpus.release(id);
    this.environments.clear();
    this.sourceOf.clear();
  }

  private resyncSoon(): void {
    void this.resync().catch((error: unknown) => this.log.warn({ err: error }, 'sandbox: resync failed'));
  }

  banner(): string[] {
    const lines = [
      `Fabric              sandbox: running instances are machines you can SSH into at their public address (${this.publicCidr}, port ${this.host.sshPort})`,
      `  files             ${this.dir}   (HANGAR_FABRIC=simulated turns this off)`,
      `  replicas          one process at a time runs the machines (${this.leading ? 'this one' : 'another replica; this one takes over when it goes away'})`,
    ];
    const idmap = this.host.idmap;
    if (idmap) lines.push(`  users             a user namespace each: ids 0-${idmap.size - 1} inside are ${idmap.base}-${idmap.base + idmap.size - 1} on the host (root inside is not root outside)`);
    for (const note of this.host.notes) lines.push(`  note              ${note}`);
    if (this.gpus.size > 0) lines.push(`  GPUs              ${this.gpus.size} host devices handed to instances (HANGAR_GPU_DEVICES)`);
    return lines;
  }

  async settled(): Promise<void> {
    while (this.queues.size > 0 || this.lookups.size > 0) await Promise.all([...this.queues.values(), ...this.lookups]);
  }

  async resync(): Promise<void> {
    if (!this.leading) return;
    const ids = new Set<string>();
    for (const source of this.sources.values()) {
      for (const id of await source.running()) {
        ids.add(id);
        this.enqueue(source, id, false);
      }
    }
    // Machines the store no longer says are running (a reset emptied it, say).
    for (const [id, source] of this.sourceOf) if (!ids.has(id)) this.enqueue(source, id, false);
    await this.settled();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopListening?.();
    // (the machines halt before the role is given up: the next holder binds the same addresses)
    if (this.giveUp) await this.giveUp();
    else await this.standDown();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The machine of a resource, if it has one (tests and the benchmark look inside). */
  environment(id: string): Environment | undefined {
    return this.environments.get(id);
  }

  private applied(applied: AppliedTransition): void {
    if (this.closed) return;
    for (const source of this.sources.values()) {
      if (source.volumeKind?.kind === applied.kind) this.track(source.volumeKind.deleted(applied).then((ids) => this.removeVolumes(ids)));
    }
    if (!this.leading) {
      this.tellLeader();
      return;
    }
    const source = this.sources.get(applied.kind);
    if (!source || this.closed) return;
    const reboot = source.rebootTransitions.includes(applied.transition);
    if (!source.machinesOf) {
      this.enqueue(source, applied.resourceId, reboot);
      return;
    }
    this.track(
      source.machinesOf(applied).then((ids) => {
        for (const id of ids) this.enqueue(source, id, reboot);
      }),
    );
  }

  /** Tells the replica running the machines that this one applied transitions (one notice for a burst). */
  private tellLeader(): void {
    if (this.telling) return;
    this.telling = true;
    setImmediate(() => {
      this.telling = false;
      void this.kernel.store.notify(ROLE).catch(() => undefined);
    });
  }

  /** Work started by a lifecycle event that `settled` waits for. */
  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => this.log.error({ err: error }, 'sandbox: could not follow a lifecycle event'))
      .finally(() => this.lookups.delete(tracked));
    this.lookups.add(tracked);
  }

  /** A deleted volume's files go (a volume is attached to no instance by the time it can be deleted). */
  private async removeVolumes(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (!/^[A-Za-z0-9_-]+$/.test(id)) continue;
      await rm(join(this.dir, 'volumes', id), { recursive: true, force: true });
    }
  }

  private enqueue(source: MachineSource, id: string, reboot: boolean): void {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous
      .then(() => (this.closed ? undefined : this.reconcile(source, id, reboot)))
      .catch((error: unknown) => this.log.error({ err: error, instance: id }, 'sandbox: could not bring the instance to its state'));
    this.queues.set(id, next);
    void next.then(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
  }

  private async reconcile(source: MachineSource, id: string, reboot: boolean): Promise<void> {
    const found = await source.load(id);
    this.sourceOf.set(id, source);
    let env = this.environments.get(id);
    if (found === null) {
      // Gone: processes end (no shutdown script: the disk goes with it) and the files are removed.
      if (env) await env.halt(false, 0);
      this.gpus.release(id);
      await (env ?? new Environment(id, this.instanceDir(id), this.host, this.log)).remove();
      this.environments.delete(id);
      this.sourceOf.delete(id);
      return;
    }
    if (!found.running) {
      if (env?.running) await env.halt(true, this.stopTimeoutMs);
      this.gpus.release(id);
      return;
    }
    if (env?.running && reboot) {
      await env.halt(true, this.stopTimeoutMs);
      this.gpus.release(id);
    }
    if (env?.running) {
      await env.syncVolumes(found.spec.volumes);
      return;
    }
    env ??= new Environment(id, this.instanceDir(id), this.host, this.log);
    this.environments.set(id, env);
    const devices = found.spec.gpus ? this.gpus.take(id, found.spec.gpus.count) : [];
    if (found.spec.gpus && this.gpus.size > 0 && devices.length === 0) {
      this.log.warn({ instance: id, wanted: found.spec.gpus.count, held: Object.fromEntries(this.gpus.held()) }, 'sandbox: too few free GPU boards; the instance boots with the nvidia-smi stand-in');
    }
    try {
      await env.boot(found.spec, devices);
    } catch (error) {
      this.gpus.release(id);
      await env.halt(false, 0);
      throw error;
    }
  }

  private instanceDir(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`not an id fit for a directory name: ${id}`);
    return join(this.dir, 'instances', id);
  }
}

