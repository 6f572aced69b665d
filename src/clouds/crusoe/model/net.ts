import { badRequest } from '../errors.js';

/**
 * Addresses, CIDRs, ports and protocol lists as the networking API takes them, each parsed
 * strictly: a bad value is a 400 that names the field and says what was expected.
 */

export interface Block {
  cidr: string;
  /** First and last address as numbers. */
  start: number;
  end: number;
  prefix: number;
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

export function ipv4ToNumber(text: string): number | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

/** "a.b.c.d/n" with any address inside the block (firewall and load balancer targets). */
export function parseCidrLoose(text: string, field: string): Block {
  const [address, prefixText, extra] = text.split('/');
  const value = ipv4ToNumber(address ?? '');
  const prefix = prefixText !== undefined && /^(0|[1-9]\d?)$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (value === null || extra !== undefined || !(prefix >= 0 && prefix <= 32)) {
    throw badRequest(`"${field}" must be an IPv4 CIDR such as "10.0.0.0/16" (got "${text}")`);
  }
  const size = 2 ** (32 - prefix);
  const start = value - (value % size);
  return { cidr: text, start, end: start + size - 1, prefix };
}

/**
 * A network's or subnet's CIDR: the block's own address (no host bits set), a prefix in
 * [min, max], and not a range no private network can use (loopback, link-local, multicast
 * and reserved, "this network").
 */
export function parseNetworkCidr(text: string, field: string, limits: { min: number; max: number }): Block {
  const block = parseCidrLoose(text, field);
  const address = ipv4ToNumber(text.split('/')[0]!)!;
  if (block.prefix < limits.min || block.prefix > limits.max) {
    throw badRequest(`"${field}": the prefix length must be between /${limits.min} and /${limits.max} (got /${block.prefix})`);
  }
  if (address !== block.start) {
    throw badRequest(`"${field}": "${text}" has host bits set; the block's address is ${formatIpv4(block.start)}/${block.prefix}`);
  }
  const first = Math.floor(block.start / 2 ** 24);
  const reserved = first === 0 || first === 127 || first >= 224 || (block.start >= 0xa9fe0000 && block.start <= 0xa9feffff);
  if (reserved) throw badRequest(`"${field}": ${text} is a reserved range (loopback, link-local, multicast or "this network")`);
  return block;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export const contains = (outer: Pick<Block, 'start' | 'end'>, inner: Pick<Block, 'start' | 'end'>): boolean => inner.start >= outer.start && inner.end <= outer.end;

/** The smallest block that holds all of these (a default network around its default subnets). */
export function covering(blocks: readonly Pick<Block, 'start' | 'end'>[]): string {
  const start = Math.min(...blocks.map((b) => b.start));
  const end = Math.max(...blocks.map((b) => b.end));
  let prefix = 32;
  while (prefix > 0) {
    const size = 2 ** (32 - prefix);
    const base = start - (start % size);
    if (base + size - 1 >= end) return `${formatIpv4(base)}/${prefix}`;
    prefix--;
  }
  return '0.0.0.0/0';
}

/**
 * A list the seed shows as a bracketed string ("[tcp, udp]", "[80, 443, 3000-8080]"): the
 * API takes an array of strings; the seed's string form (and numbers in the array) are
 * accepted too, so a request copied from the seed's samples works.
 */
export function listOf(value: string | readonly (string | number)[] | undefined): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') {
    const inner = value.trim().replace(/^\[/, '').replace(/\]$/, '');
    return inner
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  return value.map((v) => String(v).trim());
}

export const PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;

/** Protocol names, lower-cased and checked; none twice. */
export function parseProtocols(value: string | readonly (string | number)[] | undefined, field: string, allowed: readonly string[] = PROTOCOLS): string[] {
  const list = listOf(value).map((p) => p.toLowerCase());
  if (list.length === 0) throw badRequest(`"${field}" must name at least one protocol (${allowed.join(', ')})`);
  list.forEach((p, i) => {
    if (!allowed.includes(p)) throw badRequest(`"${field}.${i}" must be one of: ${allowed.join(', ')} (got "${p}")`);
    if (list.indexOf(p) !== i) throw badRequest(`"${field}" names "${p}" more than once`);
  });
  return list;
}

/** Ports: "80" or a range "3000-8080", each 1 to 65535, a range's low end first. */
export function parsePorts(value: string | readonly (string | number)[] | undefined, field: string): string[] {
  const list = listOf(value);
  return list.map((text, i) => {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
    const low = match ? Number(match[1]) : Number.NaN;
    const high = match?.[2] !== undefined ? Number(match[2]) : low;
    if (!match || low < 1 || high > 65535 || low > high) {
      throw badRequest(`"${field}.${i}" must be a port (1-65535) or a range such as "3000-8080" (got "${text}")`);
    }
    return low === high ? String(low) : `${low}-${high}`;
  });
}
