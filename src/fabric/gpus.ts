import { existsSync } from 'node:fs';

/** Control devices an NVIDIA driver adds besides one file per board; handed over with any board. */
const CONTROL = ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset'];

/**
 * The host's GPUs an operator hands to instances (HANGAR_GPU_DEVICES=/dev/nvidia0,/dev/nvidia1):
 * a running instance takes as many boards as its type has, each board to one instance at a
 * time, and gives them back when it stops. An instance that finds too few free boards runs
 * with the nvidia-smi stand-in instead (and the log says so): the API never waits for a board.
 */
export class GpuDevices {
  private readonly holders = new Map<string, string>();

  constructor(private readonly devices: readonly string[]) {}

  get size(): number {
    return this.devices.length;
  }

  /** Boards for `owner` (with the control devices present on the host), or none when too few are free. */
  take(owner: string, count: number): string[] {
    this.release(owner);
    if (this.devices.length === 0) return [];
    const free = this.devices.filter((device) => !this.holders.has(device));
    if (free.length < count) return [];
    const boards = free.slice(0, count);
    for (const board of boards) this.holders.set(board, owner);
    return [...boards, ...CONTROL.filter((device) => existsSync(device))];
  }

  release(owner: string): void {
    for (const [device, holder] of this.holders) if (holder === owner) this.holders.delete(device);
  }

  /** Which owner holds each board now. */
  held(): Map<string, string> {
    return new Map(this.holders);
  }
}
