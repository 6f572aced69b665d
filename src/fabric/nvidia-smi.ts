import { createHash } from 'node:crypto';
import { shellQuote } from './scripts.js';

/** The GPUs an instance type has, as `nvidia-smi` reports them. */
export interface GpuSpec {
  model: string;
  count: number;
  memoryMiB: number;
}

/** Memory per board by model (MiB, as nvidia-smi's memory.total shows it); unknown models get 16 GiB. */
const MEMORY_MIB: [RegExp, number][] = [
  [/GB200/i, 189471],
  [/B200/i, 183359],
  [/H100.*80GB|H100/i, 81559],
  [/H200/i, 143771],
  [/A100.*80GB|A100-80GB|A100-SXM-80GB/i, 81920],
  [/A100/i, 40960],
  [/L40S|L40|A40/i, 46068],
  [/RTX 3090/i, 24576],
  [/RTX 3080/i, 10240],
  [/RTX 3060 Ti/i, 8192],
  [/GTX 1080 Ti/i, 11264],
];

export function gpuMemoryMiB(model: string): number {
  return MEMORY_MIB.find(([pattern]) => pattern.test(model))?.[1] ?? 16384;
}

/** A GPU's UUID: the same for the same instance and index, always. */
export function gpuUuid(instanceId: string, index: number): string {
  const h = createHash('sha256').update(`${instanceId}/gpu/${index}`).digest('hex');
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const DRIVER_VERSION = '535.183.01';
export const CUDA_VERSION = '12.2';

/**
 * A stand-in `nvidia-smi` (POSIX sh) reporting the instance's GPUs: the summary table, `-L`,
 * and `--query-gpu=<fields> --format=csv[,noheader][,nounits]` with `-i`. What tools probe after
 * SSH works on a host without GPUs; nothing else does (there is no device to run on).
 */
export function nvidiaSmi(instanceId: string, gpus: GpuSpec): string {
  const q = shellQuote;
  const uuids = Array.from({ length: gpus.count }, (_, i) => gpuUuid(instanceId, i));
  return `#!/bin/sh
# Hangar sandbox: a stand-in for nvidia-smi that reports this instance type's GPUs.
COUNT=${gpus.count}
NAME=${q(gpus.model)}
MEM=${gpus.memoryMiB}
uuid() { case "$1" in
${uuids.map((u, i) => `  ${i}) echo ${u} ;;`).join('\n')}
esac; }
${BODY}`;
}

/** The script's part every instance shares: argument parsing, queries, the table. */
const BODY = `bus() { printf '00000000:%02X:00.0' $(( $1 + 1 )); }
list=0; query=; format=; ids=
for arg in "$@"; do
  case "$arg" in
    -L|--list-gpus) list=1 ;;
    --query-gpu=*) query="\${arg#--query-gpu=}" ;;
    --format=*) format="\${arg#--format=}" ;;
    --id=*) ids="\${arg#--id=}" ;;
    -i) want_id=1; continue ;;
    -h|--help) echo "NVIDIA System Management Interface -- v${DRIVER_VERSION} (Hangar sandbox stand-in)"; exit 0 ;;
    *) if [ "\${want_id:-0}" = 1 ]; then ids="$arg"; fi ;;
  esac
  want_id=0
done
indices() { if [ -n "$ids" ]; then echo "$ids" | tr ',' ' '; else i=0; while [ $i -lt $COUNT ]; do echo $i; i=$((i+1)); done; fi; }
for i in $(indices); do
  case "$i" in *[!0-9]*|'') echo "No devices were found"; exit 6 ;; esac
  if [ "$i" -ge "$COUNT" ]; then echo "No devices were found"; exit 6; fi
done
noheader=0; nounits=0
case ",$format," in *,noheader,*) noheader=1 ;; esac
case ",$format," in *,nounits,*) nounits=1 ;; esac
unit() { if [ $nounits = 1 ]; then echo "$1"; else echo "$1 $2"; fi; }
field() {
  case "$2" in
    name|gpu_name) echo "$NAME" ;;
    index) echo "$1" ;;
    uuid|gpu_uuid) uuid "$1" ;;
    count) echo "$COUNT" ;;
    driver_version) echo ${DRIVER_VERSION} ;;
    pci.bus_id|gpu_bus_id) bus "$1" ;;
    memory.total) unit "$MEM" MiB ;;
    memory.used) unit 0 MiB ;;
    memory.free) unit "$MEM" MiB ;;
    utilization.gpu|utilization.memory) unit 0 % ;;
    temperature.gpu) echo 30 ;;
    power.draw) unit 20.00 W ;;
    persistence_mode) echo Enabled ;;
    compute_mode) echo Default ;;
    *) return 1 ;;
  esac
}
header() {
  case "$1" in
    memory.total|memory.used|memory.free) echo "$1 [MiB]" ;;
    utilization.gpu|utilization.memory) echo "$1 [%]" ;;
    power.draw) echo "$1 [W]" ;;
    *) echo "$1" ;;
  esac
}
if [ -n "$query" ]; then
  case "$format" in csv*) ;; *) echo 'Please specify output format: --format=csv'; exit 2 ;; esac
  fields=$(echo "$query" | tr ',' ' ')
  for f in $fields; do
    field 0 "$f" >/dev/null || { echo "Field \\"$f\\" is not a valid field to query."; exit 2; }
  done
  if [ $noheader = 0 ]; then
    line=; for f in $fields; do line="\${line:+$line, }$(header "$f")"; done; echo "$line"
  fi
  for i in $(indices); do
    line=; for f in $fields; do line="\${line:+$line, }$(field "$i" "$f")"; done; echo "$line"
  done
  exit 0
fi
if [ $list = 1 ]; then
  for i in $(indices); do echo "GPU $i: $NAME (UUID: $(uuid "$i"))"; done
  exit 0
fi
echo "$(date '+%a %b %e %H:%M:%S %Y')"
echo '+---------------------------------------------------------------------------------------+'
printf '| NVIDIA-SMI %-23s Driver Version: %-14s CUDA Version: %-8s|\\n' ${DRIVER_VERSION} ${DRIVER_VERSION} ${CUDA_VERSION}
echo '|-----------------------------------------+----------------------+----------------------+'
echo '| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |'
echo '| Fan  Temp   Perf          Pwr:Usage/Cap |         Memory-Usage | GPU-Util  Compute M. |'
echo '|=========================================+======================+======================|'
for i in $(indices); do
  printf '| %3s  %-24.24s        On | %-16s Off |                  N/A |\\n' "$i" "$NAME" "$(bus "$i")"
  printf '| N/A   30C    P0              20W / 350W | %20s |      0%%      Default |\\n' "0MiB / \${MEM}MiB"
  echo '+-----------------------------------------+----------------------+----------------------+'
done
echo
echo 'No running processes found'
`;
