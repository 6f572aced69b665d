import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Crusoe's request signing, version 1.0, as the official Go client does it:
 *
 *   Authorization: Bearer 1.0:<access key id>:<signature>
 *   X-Crusoe-Timestamp: <RFC 3339 time>
 *
 * The signature is HMAC-SHA256, keyed with the base64url-decoded secret, over four lines,
 * each ending in "\n": the URL path (decoded, with the /v1alpha5 base), the canonical query,
 * the method in upper case, and the timestamp header exactly as sent. It is sent base64url
 * without padding. The body, the host and other headers are not signed.
 */
export const SIGNATURE_VERSION = '1.0';

export class SigningError extends Error {}

/** The parts of an Authorization header, or a SigningError saying what is malformed. */
export function parseAuthorization(header: string | undefined): { accessKey: string; signature: string } {
  if (header === undefined || header.trim() === '') {
    throw new SigningError('missing Authorization header: send "Authorization: Bearer 1.0:<access key>:<signature>"');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new SigningError('malformed Authorization header: expected "Bearer 1.0:<access key>:<signature>"');
  const parts = match[1]!.split(':');
  if (parts.length !== 3) throw new SigningError('malformed Authorization header: expected "Bearer 1.0:<access key>:<signature>"');
  const [version, accessKey, signature] = parts as [string, string, string];
  if (version !== SIGNATURE_VERSION) throw new SigningError(`unsupported signature version "${version}": only ${SIGNATURE_VERSION} is accepted`);
  if (accessKey === '') throw new SigningError('malformed Authorization header: the access key is empty');
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature)) {
    throw new SigningError('malformed Authorization header: the signature must be 43 characters of base64url (HMAC-SHA256, no padding)');
  }
  return { accessKey, signature };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The instant an X-Crusoe-Timestamp value names, or a SigningError. */
export function parseTimestamp(value: string | string[] | undefined): number {
  if (value === undefined) throw new SigningError('missing X-Crusoe-Timestamp header (RFC 3339, e.g. 2024-05-01T12:00:00Z)');
  if (Array.isArray(value)) throw new SigningError('X-Crusoe-Timestamp must be sent once');
  if (!RFC3339.test(value)) throw new SigningError(`malformed X-Crusoe-Timestamp "${value}": expected RFC 3339, e.g. 2024-05-01T12:00:00Z`);
  const at = Date.parse(value);
  if (!Number.isFinite(at)) throw new SigningError(`malformed X-Crusoe-Timestamp "${value}": not a valid time`);
  return at;
}

/** A raw query as (key, values) groups, keys sorted bytewise, each value decoded once. */
function queryGroups(rawQuery: string): { key: Buffer; values: Buffer[] }[] {
  const groups = new Map<string, { key: Buffer; values: Buffer[] }>();
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    if (piece.includes(';')) throw new SigningError('invalid query: ";" is not a separator');
    const eq = piece.indexOf('=');
    const key = formDecode(eq < 0 ? piece : piece.slice(0, eq));
    const value = formDecode(eq < 0 ? '' : piece.slice(eq + 1));
    const id = key.toString('latin1');
    const group = groups.get(id);
    if (group) group.values.push(value);
    else groups.set(id, { key, values: [value] });
  }
  return [...groups.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

/**
 * The query as the Go client canonicalizes it: pieces split on "&" (empty ones skipped, ";"
 * refused), each split at its first "=", form-decoded, grouped by key in order, keys sorted
 * bytewise, then re-encoded as Go's url.QueryEscape does (space as "+", everything but
 * A-Z a-z 0-9 - _ . ~ as upper-case %XX).
 */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  return queryGroups(rawQuery)
    .flatMap((g) => g.values.map((v) => `${queryEscape(g.key)}=${queryEscape(v)}`))
    .join('&');
}

/**
 * The query as dstack's Crusoe client signs it: the same pairs, keys sorted, but written
 * decoded ("key=value" joined with "&", nothing re-encoded), so `product_name=a100.1x,a100.2x`
 * is signed with its comma while the wire carries `%2C`. Null when the query holds a byte
 * sequence that is not UTF-8 text (no such client signs that).
 */
export function decodedQuery(rawQuery: string): string | null {
  if (rawQuery === '') return '';
  const pairs = queryGroups(rawQuery).flatMap((g) => g.values.map((v) => [g.key, v] as const));
  const text = (b: Buffer): string | null => {
    const s = b.toString('utf8');
    return Buffer.from(s, 'utf8').equals(b) ? s : null;
  };
  const out: string[] = [];
  for (const [k, v] of pairs) {
    const key = text(k);
    const value = text(v);
    if (key === null || value === null) return null;
    out.push(`${key}=${value}`);
  }
  return out.join('&');
}

/** The four-line message that is signed. */
export function signingMessage(path: string, rawQuery: string, method: string, timestamp: string): string {
  return `${path}\n${canonicalQuery(rawQuery)}\n${method.toUpperCase()}\n${timestamp}\n`;
}

/**
 * Every message a genuine client may have signed for this request: the Go client's (query
 * re-encoded), and, when it differs, dstack's (query decoded). Both clients work against the
 * real service; nothing looser is accepted (the pairs must be sorted and complete either way).
 */
export function signingMessages(path: string, rawQuery: string, method: string, timestamp: string): string[] {
  const goForm = signingMessage(path, rawQuery, method, timestamp);
  const decoded = decodedQuery(rawQuery);
  if (decoded === null || decoded === canonicalQuery(rawQuery)) return [goForm];
  return [goForm, `${path}\n${decoded}\n${method.toUpperCase()}\n${timestamp}\n`];
}

/** Decodes a secret as the Go client does (base64.RawURLEncoding: no padding, URL alphabet). */
export function decodeSecret(secret: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(secret) || secret.length % 4 === 1) throw new SigningError('the secret key is not base64url');
  return Buffer.from(secret, 'base64url');
}

export function sign(key: Buffer, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('base64url');
}

/** Constant-time comparison of two base64url signatures. */
export function signaturesMatch(expected: string, presented: string): boolean {
  const a = Buffer.from(expected, 'base64url');
  const b = Buffer.from(presented, 'base64url');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The path of a request target as the client signed it (Go signs URL.Path, the decoded path). */
export function signedPath(rawUrl: string): { path: string; rawQuery: string } {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  let path = rawPath;
  if (rawPath.includes('%')) {
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      throw new SigningError('malformed request path: bad percent-encoding');
    }
  }
  return { path, rawQuery };
}

function formDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) {
      bytes.push(0x20);
    } else if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new SigningError(`invalid query: bad escape "%${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      const char = String.fromCodePoint(text.codePointAt(i)!);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes);
}

function queryEscape(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += '+';
    } else {
      out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}
